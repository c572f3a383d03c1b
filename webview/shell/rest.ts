// The rest of a partial result. The attention and DPT pages paint a result's first map at once (a
// `partial` result) and the rest follows under the same result id; meanwhile the cards that wait for it
// say so. When the rest will not come (the run was cancelled or failed, or its rest could not be shown)
// they say that instead, and what to do. DOM only; must not import vscode or Node.

/** The result shown: whole; its first map with the rest on its way; or its first map, the rest not coming (the run stopped). */
export type Rest = 'whole' | 'following' | 'stopped';

/** A part of a result that comes with the rest, as a sentence names it ("the head statistics"). */
export interface RestPart {
  name: string;
  plural?: boolean;
}

const were = (p: RestPart) => (p.plural ? 'were' : 'was');
const them = (p: RestPart) => (p.plural ? 'them' : 'it');

/**
 * A card's note on a part of the rest: `following` while it is on its way, marked data-pending (the UI
 * tests wait on it); once the run stopped, that it was not computed and how to get it; `whole` else.
 */
export function showRestNote(el: HTMLElement, rest: Rest, part: RestPart, following: string, whole = ''): void {
  el.textContent =
    rest === 'following'
      ? following
      : rest === 'stopped'
        ? `The run stopped before ${part.name} ${were(part)} computed: press Run again to compute ${them(part)}.`
        : whole;
  el.toggleAttribute('data-pending', rest === 'following');
}

/** An export that holds a part of the rest (the JSON): enabled for a whole result, else disabled with a title that says why. */
export function showRestExport(b: HTMLButtonElement, rest: Rest, part: RestPart, title: string): void {
  b.disabled = rest !== 'whole';
  b.title =
    rest === 'whole'
      ? title
      : rest === 'following'
        ? `${title}: once ${part.name} ${part.plural ? 'are' : 'is'} computed (the file holds ${them(part)})`
        : `${title}: the run stopped before ${part.name} ${were(part)} computed (the file holds ${them(part)}); press Run again`;
}
