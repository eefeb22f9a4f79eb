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
  const MAX_PIXELS = 2048 * 2048; // 64 to 289 tiles: 10 s to a minute in one thread
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
    return { logits, tiles: corners.length, corners };
  }

  // ---- Running it and drawing the result ------------------------------------------------

  async function segment(grey, width, height, margin) {
    const started = performance.now();
    const pixels = normalise(grey, state.settings.percentiles);
    const { logits, tiles, corners } = await predictTiled(pixels, height, width, margin);
    const milliseconds = performance.now() - started;
    // Two classes: the nucleus probability is the softmax's second entry.
    const probability = new Float32Array(width * height);
    for (let i = 0; i < probability.length; i++) {
      probability[i] = 1 / (1 + Math.exp(logits[i] - logits[probability.length + i]));
    }
    return { pixels, logits, probability, tiles, corners, milliseconds, margin, width, height };
  }

  const VIEWS = {
    mask: "nuclei (probability above the threshold) in magenta over the image",
    probability: "the nucleus probability, dark blue for 0 to yellow for 1, with the tiles' kept squares outlined",
    image: "the image as the network reads it",
  };

  // The picture: the image, the mask over it, or the probabilities (with the tile edges).
  function draw() {
    const result = state.result;
    if (!result) return;
    const canvas = element("canvas");
    [canvas.width, canvas.height] = [result.width, result.height];
    const context = canvas.getContext("2d");
    const picture = context.createImageData(result.width, result.height);
    const out = picture.data;
    const threshold = Number(element("threshold").value);
    const view = element("view").value;
    for (let i = 0; i < result.probability.length; i++) {
      const p = result.probability[i];
      const v = 255 * result.pixels[i];
      if (view === "probability") {
        // Dark blue (0) to yellow (1): readable in both colour modes and in grey.
        [out[4 * i], out[4 * i + 1], out[4 * i + 2]] = [255 * p, 215 * p + 20, 110 * (1 - p) + 30];
      } else if (view === "mask" && p > threshold) {
        // Magenta over the image, the image still showing through.
        [out[4 * i], out[4 * i + 1], out[4 * i + 2]] = [0.45 * v + 140, 0.45 * v, 0.45 * v + 140];
      } else {
        out[4 * i] = out[4 * i + 1] = out[4 * i + 2] = v;
      }
      out[4 * i + 3] = 255;
    }
    context.putImageData(picture, 0, 0);
    if (view === "probability") outlineTiles(context, result);
    element("threshold-value").textContent = threshold.toFixed(2);
    canvas.setAttribute("aria-label", `${result.name}: ${VIEWS[view]}`);
  }

  function outlineTiles(context, result) {
    context.strokeStyle = "rgba(255, 255, 255, 0.6)";
    context.setLineDash([4, 4]);
    for (const [r, c] of result.corners) context.strokeRect(c + 0.5, r + 0.5, result.keep, result.keep);
  }

  // What the status line says (and a screen reader announces) once a run or a change is done.
  function announce() {
    const result = state.result;
    const threshold = Number(element("threshold").value);
    let found = 0;
    for (const p of result.probability) found += p > threshold;
    const share = ((100 * found) / result.probability.length).toFixed(1);
    element("status").textContent =
      `${result.name}, ${result.width} x ${result.height} px: ${result.tiles} tiles of ` +
      `${state.settings.tile_size} px with a ${result.margin}-px margin in ` +
      `${Math.round(result.milliseconds)} ms. Nucleus (probability above ${threshold.toFixed(2)}): ` +
      `${share}% of pixels.${result.note || ""}`;
  }

  // Runs one at a time (one ONNX Runtime session), and only the newest request is kept: a
  // margin or image changed during a run starts after it, and a request overtaken is skipped.
  let requested = 0;
  let queue = Promise.resolve();

  function run() {
    const id = ++requested;
    const image = state.image;
    const margin = Number(element("margin").value);
    queue = queue.then(async () => {
      if (id !== requested) return;
      root.dataset.state = "running";
      element("status").textContent = `Segmenting ${image.name} ...`;
      try {
        const result = await segment(image.grey, image.width, image.height, margin);
        if (id !== requested) return;
        const keep = state.settings.tile_size - 2 * margin;
        state.result = { ...result, keep, name: image.name, note: image.note };
        draw();
        announce();
        root.dataset.state = "done";
      } catch (error) {
        if (id === requested) fail(`Could not segment ${image.name}: ${error.message || error}`);
      }
    });
    return queue;
  }

  // ---- Images: a held-out sample or the reader's own ------------------------------------

  // A PNG's bit depth, from its header (byte 24); null for other formats.
  async function pngBitDepth(blob) {
    const head = new Uint8Array(await blob.slice(0, 25).arrayBuffer());
    const png = [137, 80, 78, 71, 13, 10, 26, 10].every((b, i) => head[i] === b);
    return png && head.length === 25 ? head[24] : null;
  }

  async function readImage(blob, name) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    } catch {
      throw new Error(`${name} could not be read as an image here: browsers read PNG, JPEG, GIF, WebP and BMP (not TIFF); convert it first`);
    }
    const { width, height } = bitmap;
    if (width * height > MAX_PIXELS) {
      bitmap.close();
      throw new Error(`${name} is ${width} x ${height} pixels; this page takes up to ${(MAX_PIXELS / 1e6).toFixed(1)} megapixels (2048 x 2048): crop or shrink it first`);
    }
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext("2d");
    context.fillStyle = "#000"; // transparent pixels count as black, the background of nuclei
    context.fillRect(0, 0, width, height);
    context.drawImage(bitmap, 0, 0);
    bitmap.close();
    const image = { grey: toGrey(context.getImageData(0, 0, width, height).data), width, height, name };
    if ((await pngBitDepth(blob)) === 16) {
      image.note = " This is a 16-bit PNG: the browser gives the page 8 bits of each pixel; unetlib in Python reads all 16.";
    }
    return image;
  }

  async function useSample(index) {
    const sample = state.settings.samples[index];
    const name = `held-out image ${index + 1} (${sample.name})`;
    try {
      const response = await fetch(folder + sample.file);
      if (!response.ok) throw new Error(`HTTP ${response.status} for ${sample.file}`);
      state.image = await readImage(await response.blob(), name);
    } catch (error) {
      fail(`Could not load ${name}: ${error.message || error}`);
      return;
    }
    await run();
  }

  async function useFiles(files) {
    const file = files && files[0];
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
    if (files.length > 1) state.image.note = ` (The first of the ${files.length} files dropped.)`;
    element("sample").value = "own";
    await run();
  }

  function fail(message) {
    root.dataset.state = "error";
    const status = element("status");
    if (status) status.textContent = message;
    else root.textContent = message; // the controls were never built
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
      <fieldset class="unet-demo-controls" disabled>
        <legend class="unet-demo-hidden">The network's settings</legend>
        <label>Image <select id="unet-demo-sample">${samples}<option value="own" hidden>your image</option></select></label>
        <label class="unet-demo-file">or an image of your own (or drop it on the picture)
          <input id="unet-demo-file" type="file" accept="image/*"></label>
        <label>Threshold <input id="unet-demo-threshold" type="range" min="0.05" max="0.95" step="0.05"
          value="${settings.threshold}"> <output id="unet-demo-threshold-value"></output></label>
        <label>Margin <select id="unet-demo-margin">${margins}</select></label>
        <label>Show <select id="unet-demo-view">
          <option value="mask">nuclei over the image</option>
          <option value="probability">nucleus probability and tiles</option>
          <option value="image">the image only</option></select></label>
      </fieldset>
      <div class="unet-demo-drop">
        <canvas id="unet-demo-canvas" role="img" aria-label="the segmented image"></canvas>
      </div>
      <p id="unet-demo-status" role="status" aria-live="polite">Loading the network ...</p>`;
    element("sample").addEventListener("change", (e) => useSample(Number(e.target.value)));
    element("file").addEventListener("change", (e) => useFiles(e.target.files));
    element("threshold").addEventListener("input", draw); // the picture follows the slider,
    element("threshold").addEventListener("change", announce); // the words once it stops
    element("view").addEventListener("change", draw);
    element("margin").addEventListener("change", () => state.image && run());
    // A drop anywhere on the demo is the reader's image; elsewhere, the browser's default.
    root.addEventListener("dragover", (e) => e.preventDefault());
    root.addEventListener("drop", (e) => {
      e.preventDefault();
      if (!root.querySelector("fieldset").disabled) useFiles(e.dataTransfer.files);
    });
  }

  async function start() {
    root.dataset.state = "loading";
    const response = await fetch(folder + "demo.json");
    if (!response.ok) throw new Error(`HTTP ${response.status} for demo.json: was the book built with Chapter 8?`);
    state.settings = await response.json();
    build(state.settings);
    // An absolute address: ONNX Runtime resolves a relative one against its own script's.
    ort.env.wasm.wasmPaths = new URL(root.dataset.static + "ort/", document.baseURI).href;
    ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which static hosts lack
    state.session = await ort.InferenceSession.create(folder + state.settings.model);
    root.querySelector("fieldset").disabled = false; // nothing can be asked of it before this
    await useSample(0);
  }

  // What the browser test (and a curious reader, in the console) can call.
  window.unetDemo = {
    ready: start().catch((error) => fail(`The demo could not start: ${error.message || error}`)),
    state,
    segment,
    readImage,
  };
})();
