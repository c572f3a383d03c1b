// CPU time by process while something runs, from Linux's /proc (empty elsewhere): says which process
// competes with the engine for the cores during a workbench run (the webview's animations did).
import * as fs from 'fs';

/** CPU milliseconds so far, by process group: our engine, the extension host, code-server, Chromium's processes. */
export function cpuByProcess(): Map<string, number> {
  const byGroup = new Map<string, number>();
  if (!fs.existsSync('/proc/self/stat')) return byGroup;
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = (Number(fields[11]) + Number(fields[12])) / ticksPerMs; // utime + stime of all threads
      const group = processGroup(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'), Number(pid));
      if (group) byGroup.set(group, (byGroup.get(group) ?? 0) + ms);
    } catch {
      /* the process ended meanwhile */
    }
  }
  return byGroup;
}

function processGroup(argv: string[], pid: number): string | undefined {
  const cmd = argv.join(' ');
  if (pid === process.pid) return 'extension host';
  if (/[/\\]engine\.js\b/.test(cmd)) return 'engine';
  if (/chromium|chrome/.test(argv[0] ?? '')) {
    const type = /--type=([\w-]+)/.exec(cmd)?.[1];
    return `chromium ${type ?? 'browser'}`;
  }
  if (/code-server/.test(cmd)) return 'code-server';
  return undefined;
}

/** b − a per group, largest first, groups that used at least 1 ms. */
export function cpuDelta(a: Map<string, number>, b: Map<string, number>): Record<string, number> {
  const rows = [...b].map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const).filter(([, d]) => d >= 1);
  return Object.fromEntries(rows.sort((x, y) => y[1] - x[1]));
}
