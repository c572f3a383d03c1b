// The 3D relief view: the image draped over the depth as a displacement mesh (webview/panels/dense/mesh.ts),
// orbited with the mouse (drag), the wheel (zoom) and the keyboard (arrows, + / −, 0 to reset). WebGL 1
// with two tiny shaders, no libraries and no network; where WebGL is unavailable (some headless or
// remote setups) the same mesh is drawn with canvas 2D (painter's algorithm on a coarser grid) and a note
// says so. DOM only; the geometry and camera maths live in mesh.ts. Must not import vscode or Node.
import { h } from '../../shell/dom';
import { canvasToPng } from './denseStage';
import { clampOrbit, normalize3, orbitMatrices, transformPoint, type Orbit, type ReliefMesh } from './mesh';

const VERTEX_SHADER = `
attribute vec3 aPos;
attribute vec2 aUv;
attribute vec3 aNormal;
uniform mat4 uMvp;
varying vec2 vUv;
varying vec3 vNormal;
void main() {
  vUv = aUv;
  vNormal = aNormal;
  gl_Position = uMvp * vec4(aPos, 1.0);
}`;

const FRAGMENT_SHADER = `
precision mediump float;
uniform sampler2D uTex;
uniform vec3 uLight;
varying vec2 vUv;
varying vec3 vNormal;
void main() {
  vec3 n = normalize(vNormal);
  if (!gl_FrontFacing) n = -n;
  float diffuse = max(dot(n, uLight), 0.0);
  vec3 c = texture2D(uTex, vUv).rgb;
  gl_FragColor = vec4(c * (0.5 + 0.6 * diffuse), 1.0);
}`;

/** Light from the upper left, in front (world space, unit length). */
const LIGHT = normalize3([-0.45, 0.6, 0.75]);

interface GlState {
  gl: WebGLRenderingContext;
  program: WebGLProgram;
  buffers: { pos: WebGLBuffer; uv: WebGLBuffer; normal: WebGLBuffer; index: WebGLBuffer };
  texture: WebGLTexture;
  count: number;
  indexType: number;
  loc: {
    pos: number;
    uv: number;
    normal: number;
    mvp: WebGLUniformLocation | null;
    light: WebGLUniformLocation | null;
    tex: WebGLUniformLocation | null;
  };
}

function compile(gl: WebGLRenderingContext, type: number, src: string): WebGLShader {
  const s = gl.createShader(type) as WebGLShader;
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(s) ?? 'compile error'}`);
  return s;
}

function initGl(canvas: HTMLCanvasElement): GlState | null {
  let gl: WebGLRenderingContext | null = null;
  try {
    gl = canvas.getContext('webgl', { antialias: true, preserveDrawingBuffer: true, alpha: true, premultipliedAlpha: true });
  } catch {
    gl = null;
  }
  if (!gl) return null;
  const program = gl.createProgram() as WebGLProgram;
  gl.attachShader(program, compile(gl, gl.VERTEX_SHADER, VERTEX_SHADER));
  gl.attachShader(program, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT_SHADER));
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(`shader link: ${gl.getProgramInfoLog(program) ?? 'error'}`);
  const buf = () => gl.createBuffer() as WebGLBuffer;
  const texture = gl.createTexture() as WebGLTexture;
  gl.bindTexture(gl.TEXTURE_2D, texture);
  // Any image size (WebGL 1 needs clamp + no mipmaps for non-power-of-two textures); grey until the image loads.
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, 1, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array([128, 128, 128, 255]));
  return {
    gl,
    program,
    texture,
    count: 0,
    indexType: gl.UNSIGNED_SHORT,
    buffers: { pos: buf(), uv: buf(), normal: buf(), index: buf() },
    loc: {
      pos: gl.getAttribLocation(program, 'aPos'),
      uv: gl.getAttribLocation(program, 'aUv'),
      normal: gl.getAttribLocation(program, 'aNormal'),
      mvp: gl.getUniformLocation(program, 'uMvp'),
      light: gl.getUniformLocation(program, 'uLight'),
      tex: gl.getUniformLocation(program, 'uTex'),
    },
  };
}

export class ReliefView {
  readonly el: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  private readonly note: HTMLParagraphElement;
  private glState: GlState | null = null;
  private ctx2d: CanvasRenderingContext2D | null = null;
  private mesh: ReliefMesh | null = null;
  private zCentre = 0;
  /** Per grid cell RGB of the image, for the 2D renderer: [(rows−1)·(cols−1), 3]. */
  private cellColours: Uint8ClampedArray | null = null;
  private image: HTMLImageElement | null = null;
  private orbit: Orbit = { yaw: 0, pitch: 0, distance: 3 };
  private frame = 0;
  private drag: { x: number; y: number; id: number } | null = null;
  /** 'webgl', or '2d' when WebGL is unavailable. */
  readonly renderer: 'webgl' | '2d';
  onOrbit: (o: Orbit) => void = () => {};
  /** Reset the camera (the owner knows the default). */
  onReset: () => void = () => {};

  constructor() {
    this.canvas = h('canvas', {
      className: 'vl-relief-canvas',
      tabindex: '0',
      role: 'img',
      'aria-roledescription': '3D relief',
      'aria-label':
        '3D relief of the depth with the image draped over it. Drag or use the arrow keys to orbit; the wheel or + and − zoom; 0 resets the view.',
    });
    this.note = h('p', { className: 'vl-card-note vl-relief-note', hidden: true, role: 'status' });
    const hint = h(
      'p',
      { className: 'vl-relief-hint' },
      'Drag or ',
      h('kbd', {}, '←'),
      h('kbd', {}, '→'),
      h('kbd', {}, '↑'),
      h('kbd', {}, '↓'),
      ' to orbit · wheel or ',
      h('kbd', {}, '+'),
      h('kbd', {}, '−'),
      ' to zoom · ',
      h('kbd', {}, '0'),
      ' resets',
    );
    this.el = h(
      'div',
      { className: 'vl-relief', 'data-testid': 'depth-3d' },
      h('div', { className: 'vl-relief-frame' }, this.canvas),
      hint,
      this.note,
    );

    let gl: GlState | null = null;
    let why = '';
    try {
      gl = initGl(this.canvas);
      if (!gl) why = 'WebGL is not available here';
    } catch (e) {
      why = `WebGL failed (${e instanceof Error ? e.message : String(e)})`;
    }
    this.glState = gl;
    this.renderer = gl ? 'webgl' : '2d';
    this.el.dataset.renderer = this.renderer;
    if (!gl) {
      this.ctx2d = this.canvas.getContext('2d');
      this.showNote(
        this.ctx2d
          ? `${why}: a simpler 2D rendering of the relief is shown (coarser, flat-shaded).`
          : `${why}, and no 2D canvas either: the 3D relief cannot be drawn.`,
      );
    }
    this.canvas.addEventListener('webglcontextlost', (ev) => {
      ev.preventDefault();
      this.showNote('The WebGL context was lost (the GPU was reset or is busy); switch views to try again.');
    });

    this.canvas.addEventListener('pointerdown', (ev) => {
      if (ev.button !== 0) return;
      this.drag = { x: ev.clientX, y: ev.clientY, id: ev.pointerId };
      this.canvas.setPointerCapture(ev.pointerId);
      this.canvas.focus({ preventScroll: true });
    });
    this.canvas.addEventListener('pointermove', (ev) => {
      if (!this.drag || ev.pointerId !== this.drag.id) return;
      const dx = ev.clientX - this.drag.x;
      const dy = ev.clientY - this.drag.y;
      this.drag.x = ev.clientX;
      this.drag.y = ev.clientY;
      this.setOrbit({ ...this.orbit, yaw: this.orbit.yaw - dx * 0.4, pitch: this.orbit.pitch + dy * 0.4 }, true);
    });
    const end = (ev: PointerEvent) => {
      if (this.drag?.id === ev.pointerId) this.drag = null;
    };
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
    this.canvas.addEventListener(
      'wheel',
      (ev) => {
        ev.preventDefault();
        this.setOrbit({ ...this.orbit, distance: this.orbit.distance * Math.exp(Math.max(-1, Math.min(1, ev.deltaY * 0.0015))) }, true);
      },
      { passive: false },
    );
    this.canvas.addEventListener('keydown', (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      const step = ev.shiftKey ? 15 : 5;
      const o = { ...this.orbit };
      switch (ev.key) {
        case 'ArrowLeft':
          o.yaw += step;
          break;
        case 'ArrowRight':
          o.yaw -= step;
          break;
        case 'ArrowUp':
          o.pitch += step;
          break;
        case 'ArrowDown':
          o.pitch -= step;
          break;
        case '+':
        case '=':
          o.distance /= 1.15;
          break;
        case '-':
        case '_':
          o.distance *= 1.15;
          break;
        case '0':
        case 'Home':
          ev.preventDefault();
          ev.stopPropagation();
          this.onReset();
          return;
        default:
          return;
      }
      ev.preventDefault();
      ev.stopPropagation();
      this.setOrbit(o, true);
    });
    new ResizeObserver(() => this.requestRender()).observe(this.canvas);
  }

  private showNote(text: string): void {
    this.note.textContent = text;
    this.note.hidden = false;
  }

  setAspect(width: number, height: number): void {
    this.canvas.style.aspectRatio = `${width} / ${height}`;
    this.canvas.style.maxWidth = `calc(62vh * ${(width / height).toFixed(5)})`;
  }

  /** The texture; uploaded once it has decoded. */
  setImage(img: HTMLImageElement): void {
    this.image = img;
    this.cellColours = null;
    const upload = () => {
      if (this.image !== img || !img.naturalWidth) return;
      const g = this.glState;
      if (g) {
        g.gl.bindTexture(g.gl.TEXTURE_2D, g.texture);
        g.gl.pixelStorei(g.gl.UNPACK_FLIP_Y_WEBGL, false);
        g.gl.texImage2D(g.gl.TEXTURE_2D, 0, g.gl.RGBA, g.gl.RGBA, g.gl.UNSIGNED_BYTE, img);
      }
      this.requestRender();
    };
    if (img.complete && img.naturalWidth) upload();
    else img.decode().then(upload, () => this.showNote('The image could not be decoded: the relief is drawn in grey.'));
  }

  /** New geometry (depth, normalisation, invert or height changed). */
  setMesh(mesh: ReliefMesh, zCentre: number): void {
    this.mesh = mesh;
    this.zCentre = zCentre;
    this.cellColours = null;
    const g = this.glState;
    if (g) {
      const { gl } = g;
      gl.bindBuffer(gl.ARRAY_BUFFER, g.buffers.pos);
      gl.bufferData(gl.ARRAY_BUFFER, mesh.positions, gl.STATIC_DRAW);
      gl.bindBuffer(gl.ARRAY_BUFFER, g.buffers.uv);
      gl.bufferData(gl.ARRAY_BUFFER, mesh.uvs, gl.STATIC_DRAW);
      gl.bindBuffer(gl.ARRAY_BUFFER, g.buffers.normal);
      gl.bufferData(gl.ARRAY_BUFFER, mesh.normals, gl.STATIC_DRAW);
      g.indexType = gl.UNSIGNED_SHORT;
      if (mesh.indices instanceof Uint32Array) {
        if (!gl.getExtension('OES_element_index_uint')) throw new Error('the relief mesh needs 32-bit indices, which this WebGL lacks');
        g.indexType = gl.UNSIGNED_INT;
      }
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, g.buffers.index);
      gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, mesh.indices, gl.STATIC_DRAW);
      g.count = mesh.indices.length;
    }
    this.requestRender();
  }

  setOrbit(o: Orbit, fromUser = false): void {
    this.orbit = clampOrbit(o);
    if (fromUser) this.onOrbit(this.orbit);
    this.requestRender();
  }

  requestRender(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private resize(): number {
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    const w = Math.max(1, Math.round((this.canvas.clientWidth || 480) * dpr));
    const hgt = Math.max(1, Math.round((this.canvas.clientHeight || 360) * dpr));
    if (this.canvas.width !== w) this.canvas.width = w;
    if (this.canvas.height !== hgt) this.canvas.height = hgt;
    return w / hgt;
  }

  /** Draw now (also used before an export). */
  render(): void {
    if (!this.mesh || this.el.offsetParent === null) return;
    const aspect = this.resize();
    const { mvp } = orbitMatrices(this.orbit, aspect, this.zCentre);
    if (this.glState) this.renderGl(this.glState, mvp);
    else if (this.ctx2d) this.render2d(this.ctx2d, mvp);
  }

  private renderGl(g: GlState, mvp: Float32Array): void {
    const { gl, loc } = g;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.enable(gl.DEPTH_TEST);
    gl.useProgram(g.program);
    const attrib = (buffer: WebGLBuffer, location: number, size: number) => {
      if (location < 0) return;
      gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
      gl.enableVertexAttribArray(location);
      gl.vertexAttribPointer(location, size, gl.FLOAT, false, 0, 0);
    };
    attrib(g.buffers.pos, loc.pos, 3);
    attrib(g.buffers.uv, loc.uv, 2);
    attrib(g.buffers.normal, loc.normal, 3);
    gl.uniformMatrix4fv(loc.mvp, false, mvp);
    gl.uniform3fv(loc.light, LIGHT);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, g.texture);
    gl.uniform1i(loc.tex, 0);
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, g.buffers.index);
    gl.drawElements(gl.TRIANGLES, g.count, g.indexType, 0);
  }

  /** Mean image colour of every grid cell (the 2D renderer fills each quad with one colour). */
  private cellColoursFor(mesh: ReliefMesh): Uint8ClampedArray | null {
    if (this.cellColours) return this.cellColours;
    const img = this.image;
    if (!img || !img.naturalWidth) return null;
    const c = document.createElement('canvas');
    c.width = mesh.cols - 1;
    c.height = mesh.rows - 1;
    const ctx = c.getContext('2d') as CanvasRenderingContext2D;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(img, 0, 0, c.width, c.height);
    this.cellColours = ctx.getImageData(0, 0, c.width, c.height).data;
    return this.cellColours;
  }

  private render2d(ctx: CanvasRenderingContext2D, mvp: Float32Array): void {
    const mesh = this.mesh as ReliefMesh;
    const { cols, rows, positions, normals } = mesh;
    const W = this.canvas.width;
    const H = this.canvas.height;
    ctx.clearRect(0, 0, W, H);
    // Project every vertex: screen x, y and clip w (distance along the view direction, for sorting).
    const n = cols * rows;
    const sx = new Float32Array(n);
    const sy = new Float32Array(n);
    const sw = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const [x, y, , w] = transformPoint(mvp, [positions[i * 3], positions[i * 3 + 1], positions[i * 3 + 2]]);
      sw[i] = w;
      sx[i] = ((x / w) * 0.5 + 0.5) * W;
      sy[i] = (0.5 - (y / w) * 0.5) * H;
    }
    const cells = (cols - 1) * (rows - 1);
    const order = new Uint32Array(cells);
    const depth = new Float32Array(cells);
    for (let r = 0; r < rows - 1; r++) {
      for (let c = 0; c < cols - 1; c++) {
        const k = r * (cols - 1) + c;
        const a = r * cols + c;
        order[k] = k;
        depth[k] = sw[a] + sw[a + 1] + sw[a + cols] + sw[a + cols + 1];
      }
    }
    order.sort((p, q) => depth[q] - depth[p]); // far first (painter's algorithm)
    const colours = this.cellColoursFor(mesh);
    ctx.lineWidth = 1;
    ctx.lineJoin = 'round';
    for (const k of order) {
      const r = Math.floor(k / (cols - 1));
      const c = k % (cols - 1);
      const a = r * cols + c;
      const quad = [a, a + 1, a + cols + 1, a + cols];
      if (quad.some((i) => sw[i] <= 0.05)) continue; // behind the camera
      let shade = 0;
      for (const i of quad) shade += Math.max(0, normals[i * 3] * LIGHT[0] + normals[i * 3 + 1] * LIGHT[1] + normals[i * 3 + 2] * LIGHT[2]);
      const f = 0.5 + 0.6 * (shade / 4);
      const rgb = colours ? [colours[k * 4], colours[k * 4 + 1], colours[k * 4 + 2]] : [128, 128, 128];
      const fill = `rgb(${Math.min(255, rgb[0] * f) | 0},${Math.min(255, rgb[1] * f) | 0},${Math.min(255, rgb[2] * f) | 0})`;
      ctx.beginPath();
      ctx.moveTo(sx[quad[0]], sy[quad[0]]);
      for (let j = 1; j < 4; j++) ctx.lineTo(sx[quad[j]], sy[quad[j]]);
      ctx.closePath();
      ctx.fillStyle = fill;
      ctx.strokeStyle = fill; // closes the hairline seams between quads
      ctx.fill();
      ctx.stroke();
    }
  }

  async toPng(): Promise<Uint8Array> {
    this.render();
    return canvasToPng(this.canvas);
  }
}
