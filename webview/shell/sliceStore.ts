// Where the panel gets one query's attention. In VS Code the full [L, H, N, N] tensor stays in the
// extension host (22 MB on ViT-B: too much to post to a webview) and the panel asks for the slice of
// the query it shows; the standalone report embeds the tensor and slices it locally. Used by the
// attention page and the DPT page's backbone attention. No DOM here; must not import vscode or Node.
import { attentionSlice } from '../../src/maths/attention';
import type { AttentionSlice, AttentionTensor, RolloutSettings } from '../../src/shared/attentionTypes';
import { asFloat32, expectLength } from './revive';

const MAX_CACHED = 64; // ~113 KB of rows per query on ViT-B

function rolloutKey(query: number, s: RolloutSettings): string {
  return `${query}|${s.fusion}|${s.discardRatio}|${s.startLayer}`;
}

/** Cached slices plus a way to get missing ones: `request` returns at once; `onSlice` fires when one arrives. */
export class SliceStore {
  private readonly rowsByQuery = new Map<number, Float32Array>();
  private readonly rolloutByKey = new Map<string, Float32Array>();
  /** Remote only: the request on its way, and the newest one waiting behind it (older waiting ones are dropped). */
  private inFlight: string | undefined;
  private inFlightSince = 0;
  private waiting: { query: number; settings: RolloutSettings } | undefined;
  onSlice: () => void = () => {};

  /**
   * @param fetch remote: posts a request (the answer comes to `put`); local: undefined, see `local`.
   * @param local the full tensor, for the standalone report.
   */
  private constructor(
    private readonly fetch?: (query: number, settings: RolloutSettings) => void,
    private readonly local?: { tensor: AttentionTensor; firstPatch: number },
  ) {}

  /** `first` may be one query's rows alone (a first map): its rollout then comes to `put` (or is asked for). */
  static remote(
    first: AttentionSlice | Pick<AttentionSlice, 'query' | 'rows'>,
    fetch: (query: number, settings: RolloutSettings) => void,
  ): SliceStore {
    const s = new SliceStore(fetch);
    if ('rollout' in first) s.put(first);
    else remember(s.rowsByQuery, first.query, first.rows);
    return s;
  }

  static local(tensor: AttentionTensor, firstPatch: number): SliceStore {
    return new SliceStore(undefined, { tensor, firstPatch });
  }

  /** Row `query` of every layer and head ([L, H, N]), or undefined while it is being fetched. */
  rows(query: number, settings: RolloutSettings): Float32Array | undefined {
    if (!this.rowsByQuery.has(query)) this.fill(query, settings);
    return this.rowsByQuery.get(query);
  }

  /** The rollout row of `query` for these settings, or undefined while it is being fetched. */
  rollout(query: number, settings: RolloutSettings): Float32Array | undefined {
    const key = rolloutKey(query, settings);
    if (!this.rolloutByKey.has(key)) this.fill(query, settings);
    return this.rolloutByKey.get(key);
  }

  /** A slice from the host: cache it, send the newest waiting request, and tell the panel to repaint. */
  put(slice: AttentionSlice): void {
    this.store(slice);
    const key = rolloutKey(slice.query, slice.rollout);
    if (this.inFlight === key) {
      this.inFlight = undefined;
      const next = this.waiting;
      this.waiting = undefined;
      if (next) this.fill(next.query, next.settings);
    }
    this.onSlice();
  }

  private store(slice: AttentionSlice): void {
    remember(this.rowsByQuery, slice.query, slice.rows);
    remember(this.rolloutByKey, rolloutKey(slice.query, slice.rollout), slice.rollout.map);
  }

  /** Local: compute now (synchronously, no onSlice). Remote: ask the host, one request at a time. */
  private fill(query: number, settings: RolloutSettings): void {
    if (this.local) {
      this.store(attentionSlice(this.local.tensor, this.local.firstPatch, query, settings));
      return;
    }
    const key = rolloutKey(query, settings);
    // A request the host dropped (its result was replaced) must not block the panel forever.
    if (this.inFlight && Date.now() - this.inFlightSince > 5000) this.inFlight = undefined;
    if (this.inFlight === key) return;
    if (this.inFlight) {
      this.waiting = { query, settings };
      return;
    }
    this.inFlight = key;
    this.inFlightSince = Date.now();
    this.fetch!(query, settings);
  }
}

/** Map insertion with a size cap: the oldest entry goes first. */
function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_CACHED) map.delete(map.keys().next().value as K);
}

/**
 * A slice from the host with its arrays revived (postMessage keeps typed arrays; an older host may not).
 * With the result's attention `shape` and patch count, the lengths are checked too and a wrong one
 * throws an Error naming the field, before the slice reaches a cache.
 */
export function reviveSlice(
  s: AttentionSlice,
  shape?: { layers: number; heads: number; tokens: number },
  patches?: number,
): AttentionSlice {
  const rows = asFloat32(s.rows, 'slice.rows');
  if (shape)
    expectLength(rows, shape.layers * shape.heads * shape.tokens, 'slice.rows', `[${shape.layers}, ${shape.heads}, ${shape.tokens}]`);
  const map = asFloat32(s.rollout?.map, 'slice.rollout.map');
  if (patches !== undefined) expectLength(map, patches, 'slice.rollout.map', `[${patches}]`);
  return { ...s, rows, rollout: { ...s.rollout, map } };
}
