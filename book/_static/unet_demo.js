/* The U-Net in the page (book/demo.md): Chapter 8's network, exported to ONNX by the book
 * build, run by ONNX Runtime Web (WebAssembly, one thread) on a held-out image or the
 * reader's own, tile by tile as unetlib.tiling.predict_tiled does, so that its logits equal
 * PyTorch's (the browser test compares them with the build's reference files).
 *
 * The build writes _static/demo/: unet.onnx, sample_K.png, reference_M.f32 and demo.json (the
 * settings: tile size, margins, threshold, percentiles; unetlib.notebook.write_browser_demo).
 * Nothing is fetched from outside the book, and the reader's image never leaves the browser.
 */
(() => {
  "use strict";

  const root = document.getElementById("unet-demo");
  if (!root) return;
  const folder = root.dataset.static + "demo/";
  const MAX_PIXELS = 2048 * 2048; // 16 s or so of tiles in one thread: enough for a demo
  const state = { settings: null, session: null, image: null, result: null };

  // ---- Normalisation: unetlib.data.normalise_percentile, number for number -------------

  // NumPy's default ("linear") percentile of sorted values, with its own interpolation formula.
  function percentile(sorted, q) {
    const position = (q / 100) * (sorted.length - 1);
    const below = Math.floor(position);
    const t = position - below;
    const a = sorted[below];
    const b = sorted[Math.min(below + 1, sorted.length - 1)];
    return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
  }

  // Grey values scaled so their low and high percentiles become 0 and 1, clipped (float32).
  function normalise(grey, [low, high]) {
    const sorted = Float64Array.from(grey).sort();
    const lo = percentile(sorted, low);
    const hi = percentile(sorted, high);
    const scaled = new Float32Array(grey.length);
    if (hi <= lo) return scaled;
    for (let i = 0; i < grey.length; i++) {
      scaled[i] = Math.min(1, Math.max(0, (grey[i] - lo) / (hi - lo)));
    }
    return scaled;
  }

  // One grey value per pixel: a grey image's own value; a colour one's luminance
  // (skimage.color.rgb2gray's weights).
  function toGrey(rgba) {
    const grey = new Float64Array(rgba.length / 4);
    for (let i = 0; i < grey.length; i++) {
      const [r, g, b] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
      grey[i] = r === g && g === b ? r : 0.2125 * r + 0.7154 * g + 0.0721 * b;
    }
    return grey;
  }

  // ---- Overlap-tile: unetlib.tiling.plan_tiles and predict_tiled, for same padding ----------

  // An index into an axis of `size` pixels, mirrored at both ends (np.pad's "reflect").
  function mirror(index, size) {
    if (size === 1) return 0;
    const period = 2 * (size - 1);
    const folded = Math.abs(index) % period;
    return folded >= size ? period - folded : folded;
  }

  // The output squares' top (or left) edges along one axis, as TileGrid places them.
  function starts(length, step) {
    const edges = [];
    for (let s = 0; s <= Math.max(length - step, 0); s += step) edges.push(s);
    if (edges[edges.length - 1] + step < length) edges.push(edges[edges.length - 1] + step);
    return edges;
  }

  function planTiles(height, width, tile, margin, multiple) {
    let step = tile - 2 * margin;
    if (step >= multiple) step -= step % multiple; // tiles stay on the pooling grid
    const corners = [];
    for (const r of starts(height, step)) for (const c of starts(width, step)) corners.push([r, c]);
    return { corners, keep: tile - 2 * margin };
  }

  // The tile x tile square whose top-left corner is (top, left), mirrored outside the image.
  function mirroredCrop(pixels, height, width, top, left, tile) {
    const crop = new Float32Array(tile * tile);
    for (let y = 0; y < tile; y++) {
      const row = mirror(top + y, height) * width;
      for (let x = 0; x < tile; x++) crop[y * tile + x] = pixels[row + mirror(left + x, width)];
    }
    return crop;
  }

  // Logits (classes, height, width) of normalised pixels, tile by tile.
  async function predictTiled(pixels, height, width, margin) {
    const { tile_size: tile, multiple, classes } = state.settings;
    const { corners, keep } = planTiles(height, width, tile, margin, multiple);
    const logits = new Float32Array(classes.length * height * width);
    for (const [r, c] of corners) {
      const input = new ort.Tensor("float32", mirroredCrop(pixels, height, width, r - margin, c - margin, tile), [1, 1, tile, tile]);
      const output = (await state.session.run({ image: input })).logits.data;
      const rows = Math.min(keep, height - r);
      const cols = Math.min(keep, width - c);
      for (let k = 0; k < classes.length; k++) {
        for (let y = 0; y < rows; y++) {
          const from = k * tile * tile + (margin + y) * tile + margin;
          logits.set(output.subarray(from, from + cols), (k * height + r + y) * width + c);
        }
      }
    }
    return { logits, tiles: corners.length };
  }

  // ---- Running it and drawing the result ------------------------------------------------

  async function segment(grey, width, height, margin) {
    const started = performance.now();
    const pixels = normalise(grey, state.settings.percentiles);
    const { logits, tiles } = await predictTiled(pixels, height, width, margin);
    const milliseconds = performance.now() - started;
    // Two classes: the nucleus probability is the softmax's second entry.
    const probability = new Float32Array(width * height);
    for (let i = 0; i < probability.length; i++) {
      probability[i] = 1 / (1 + Math.exp(logits[i] - logits[probability.length + i]));
    }
    return { pixels, logits, probability, tiles, milliseconds, margin, width, height };
  }

  function draw() {
    const result = state.result;
    if (!result) return;
    const canvas = element("canvas");
    canvas.width = result.width;
    canvas.height = result.height;
    const context = canvas.getContext("2d");
    const picture = context.createImageData(result.width, result.height);
    const threshold = Number(element("threshold").value);
    const view = element("view").value;
    const out = picture.data;
    let found = 0;
    for (let i = 0; i < result.probability.length; i++) {
      const p = result.probability[i];
      const v = 255 * result.pixels[i];
      const above = p >= threshold;
      found += above;
      if (view === "probability") {
        // Dark blue (0) to yellow (1): readable in both colour modes and in grey.
        [out[4 * i], out[4 * i + 1], out[4 * i + 2]] = [255 * p, 215 * p + 20, 110 * (1 - p) + 30];
      } else if (view === "mask" && above) {
        // Magenta over the image, the image still showing through.
        [out[4 * i], out[4 * i + 1], out[4 * i + 2]] = [0.45 * v + 140, 0.45 * v, 0.45 * v + 140];
      } else {
        out[4 * i] = out[4 * i + 1] = out[4 * i + 2] = v;
      }
      out[4 * i + 3] = 255;
    }
    context.putImageData(picture, 0, 0);
    element("threshold-value").textContent = threshold.toFixed(2);
    const share = ((100 * found) / result.probability.length).toFixed(1);
    canvas.setAttribute("aria-label", `${state.image.name}: ${share}% of pixels above the threshold, shown in magenta`);
    element("status").textContent =
      `${state.image.name}, ${result.width} x ${result.height} px: ${result.tiles} tiles of ` +
      `${state.settings.tile_size} px with a ${result.margin}-px margin in ` +
      `${Math.round(result.milliseconds)} ms. Nucleus (probability >= ${threshold.toFixed(2)}): ${share}% of pixels.`;
  }

  async function run() {
    const margin = Number(element("margin").value);
    root.dataset.state = "running";
    element("status").textContent = `Segmenting ${state.image.name} ...`;
    try {
      state.result = await segment(state.image.grey, state.image.width, state.image.height, margin);
      draw();
      root.dataset.state = "done";
    } catch (error) {
      fail(`Could not segment ${state.image.name}: ${error}`);
    }
  }

  // ---- Images: a held-out sample or the reader's own ------------------------------------

  async function readImage(blob, name) {
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    const { width, height } = bitmap;
    if (width * height > MAX_PIXELS) {
      bitmap.close();
      throw new Error(`${name} is ${width} x ${height} pixels; this page takes up to ${MAX_PIXELS / 1e6} megapixels: crop or shrink it first`);
    }
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext("2d");
    context.drawImage(bitmap, 0, 0);
    bitmap.close();
    return { grey: toGrey(context.getImageData(0, 0, width, height).data), width, height, name };
  }

  async function useSample(index) {
    const sample = state.settings.samples[index];
    const response = await fetch(folder + sample.file);
    state.image = await readImage(await response.blob(), `held-out image ${index + 1} (${sample.name})`);
    await run();
  }

  async function useFile(file) {
    if (!file || !file.type.startsWith("image/")) {
      fail(`${file ? file.name : "That"} is not an image: pick a PNG, JPEG or similar file`);
      return;
    }
    try {
      state.image = await readImage(file, file.name);
    } catch (error) {
      fail(String(error.message || error));
      return;
    }
    await run();
  }

  function fail(message) {
    root.dataset.state = "error";
    element("status").textContent = message;
  }

  // ---- The controls ----------------------------------------------------------------------

  function element(name) {
    return root.querySelector(`#unet-demo-${name}`);
  }

  function build(settings) {
    const samples = settings.samples
      .map((s, k) => `<option value="${k}">held-out image ${k + 1} (${s.width} x ${s.height})</option>`)
      .join("");
    const margins = settings.margins
      .map((m) => `<option value="${m}"${m === settings.margin ? " selected" : ""}>${m} px${m === settings.margin ? " (chosen on validation)" : ""}</option>`)
      .join("");
    root.innerHTML = `
      <div class="unet-demo-controls">
        <label>Image <select id="unet-demo-sample">${samples}</select></label>
        <label class="unet-demo-file">or your own <input id="unet-demo-file" type="file" accept="image/*"></label>
        <label>Threshold <input id="unet-demo-threshold" type="range" min="0.05" max="0.95" step="0.05"
          value="${settings.threshold}"> <output id="unet-demo-threshold-value"></output></label>
        <label>Margin <select id="unet-demo-margin">${margins}</select></label>
        <label>Show <select id="unet-demo-view">
          <option value="mask">nuclei over the image</option>
          <option value="probability">nucleus probability</option>
          <option value="image">the image only</option></select></label>
      </div>
      <div class="unet-demo-drop" title="drop an image here">
        <canvas id="unet-demo-canvas" role="img" aria-label="the segmented image"></canvas>
      </div>
      <p id="unet-demo-status" role="status" aria-live="polite">Loading the network ...</p>`;
    element("sample").addEventListener("change", (e) => useSample(Number(e.target.value)));
    element("file").addEventListener("change", (e) => useFile(e.target.files[0]));
    element("threshold").addEventListener("input", draw);
    element("view").addEventListener("change", draw);
    element("margin").addEventListener("change", () => state.image && run());
    const drop = root.querySelector(".unet-demo-drop");
    drop.addEventListener("dragover", (e) => e.preventDefault());
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      useFile(e.dataTransfer.files[0]);
    });
  }

  async function start() {
    root.dataset.state = "loading";
    state.settings = await (await fetch(folder + "demo.json")).json();
    build(state.settings);
    // An absolute address: ONNX Runtime resolves a relative one against its own script's.
    ort.env.wasm.wasmPaths = new URL(root.dataset.static + "ort/", document.baseURI).href;
    ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which static hosts lack
    state.session = await ort.InferenceSession.create(folder + state.settings.model);
    await useSample(0);
  }

  // What the browser test (and a curious reader, in the console) can call.
  window.unetDemo = {
    ready: start().catch((error) => fail(`The demo could not start: ${error}`)),
    state,
    segment,
    readImage,
  };
})();
