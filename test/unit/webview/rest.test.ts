// The notes and export titles of a partial result's rest (webview/shell/rest.ts): what a card says while
// its part follows, once the run stopped before it, and for a whole result. DOM-free (a stub element).
import assert from 'node:assert/strict';
import test from 'node:test';
import { showRestExport, showRestNote } from '../../../webview/shell/rest';

function stub(): HTMLButtonElement & { pending: boolean } {
  const el = {
    textContent: '',
    title: '',
    disabled: false,
    pending: false,
    toggleAttribute(name: string, on: boolean) {
      assert.equal(name, 'data-pending');
      el.pending = on;
    },
  };
  return el as unknown as HTMLButtonElement & { pending: boolean };
}

test('showRestNote: following (data-pending), stopped (what happened, what to do), whole', () => {
  const el = stub();
  const stats = { name: 'the head statistics', plural: true };
  showRestNote(el, 'following', stats, 'Computing the head statistics…', 'No head statistics in this result.');
  assert.deepEqual([el.textContent, el.pending], ['Computing the head statistics…', true]);
  showRestNote(el, 'stopped', stats, 'Computing the head statistics…', 'No head statistics in this result.');
  assert.deepEqual(
    [el.textContent, el.pending],
    ['The run stopped before the head statistics were computed: press Run again to compute them.', false],
  );
  showRestNote(el, 'stopped', { name: 'the raw attention baseline' }, 'Computing the raw attention baseline…');
  assert.equal(el.textContent, 'The run stopped before the raw attention baseline was computed: press Run again to compute it.');
  showRestNote(el, 'whole', stats, 'Computing the head statistics…', 'No head statistics in this result.');
  assert.deepEqual([el.textContent, el.pending], ['No head statistics in this result.', false]);
});

test('showRestExport: enabled for a whole result; else disabled, its title saying why', () => {
  const b = stub();
  const part = { name: 'the head statistics', plural: true };
  showRestExport(b, 'following', part, 'Save the numbers as JSON');
  assert.equal(b.disabled, true);
  assert.equal(b.title, 'Save the numbers as JSON: once the head statistics are computed (the file holds them)');
  showRestExport(b, 'stopped', part, 'Save the numbers as JSON');
  assert.equal(b.disabled, true);
  assert.match(b.title, /the run stopped before the head statistics were computed .*press Run again$/);
  showRestExport(b, 'whole', part, 'Save the numbers as JSON');
  assert.deepEqual([b.disabled, b.title], [false, 'Save the numbers as JSON']);
});
