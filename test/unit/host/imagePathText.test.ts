// The source-file hover's text half: which string in a line is an image path, and where it may be.
import assert from 'node:assert/strict';
import path from 'node:path';
import test from 'node:test';
import { candidatePaths, imagePathAt } from '../../../src/host/imagePathText';

test('a quoted image path under the cursor is found, with its range inside the quotes', () => {
  const line = `img = Image.open("data/cat.png")  # and 'notes.txt'`;
  const at = line.indexOf('cat');
  assert.deepEqual(imagePathAt(line, at), { text: 'data/cat.png', start: line.indexOf('data'), end: line.indexOf('data') + 12 });
  assert.equal(imagePathAt(line, line.indexOf('notes')), undefined, 'not an image');
  assert.equal(imagePathAt(line, 2), undefined, 'outside any string');
  assert.equal(imagePathAt(`load(r'C:\\x\\y.JPEG')`, 9)?.text, 'C:\\x\\y.JPEG');
  assert.equal(imagePathAt('const p = `imgs/a.webp`;', 14)?.text, 'imgs/a.webp');
  const md = 'See ![a cat](images/cat.jpg "title") here';
  assert.equal(imagePathAt(md, md.indexOf('cat.jpg'))?.text, 'images/cat.jpg');
  const two = `a = "x.png", b = "y.jpg"`;
  assert.equal(imagePathAt(two, two.indexOf('y.jpg'))?.text, 'y.jpg');
});

test("relative paths resolve against the file's folder, then each workspace root; absolute ones stay", () => {
  const root = path.resolve('/ws');
  assert.deepEqual(candidatePaths('data/cat.png', path.join(root, 'src'), [root]), [
    path.join(root, 'src', 'data', 'cat.png'),
    path.join(root, 'data', 'cat.png'),
  ]);
  assert.deepEqual(candidatePaths(path.join(root, 'a.png'), path.join(root, 'src'), [root]), [path.join(root, 'a.png')]);
  assert.deepEqual(candidatePaths('a.png', undefined, [root, root]), [path.join(root, 'a.png')]);
});
