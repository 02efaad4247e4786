// The PNG a person saves from the graph view: the view as it is on screen, at twice its pixel
// size, on the page's background, with the legend drawn underneath (a picture pasted into a doc
// or a ticket has to explain itself).
import type { EnvironmentInfo } from "./bindings";
import { ENV_COLOURS, LEGEND } from "./graph-style";

function loadImage(src: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the graph image could not be drawn"));
    img.src = src;
  });
}

/** `viewPng` (a data URI) with the legend below it; returns base64 PNG without the prefix. */
export async function pngWithLegend(viewPng: string, root: HTMLElement, environments: EnvironmentInfo[]): Promise<string> {
  const css = getComputedStyle(root);
  const resolve = (c: string) => {
    const m = /^var\((--[\w-]+)\)$/.exec(c);
    return m ? css.getPropertyValue(m[1]).trim() || "#888888" : c;
  };
  const bg = css.getPropertyValue("--panel").trim() || "#ffffff";
  const text = css.getPropertyValue("--text").trim() || "#1c2230";
  const img = await loadImage(viewPng);
  const scale = 2;
  const rowHeight = 22 * scale;
  const font = `${12 * scale}px sans-serif`;
  const entries: { label: string; draw: (ctx: CanvasRenderingContext2D, x: number, y: number) => void }[] = [
    ...LEGEND.map((l) => ({
      label: l.label,
      draw: (ctx: CanvasRenderingContext2D, x: number, y: number) => {
        ctx.strokeStyle = resolve(l.swatch);
        ctx.lineWidth = 3 * scale;
        ctx.setLineDash(l.dashed ? [6 * scale, 4 * scale] : l.dotted ? [2 * scale, 3 * scale] : []);
        ctx.beginPath();
        ctx.moveTo(x, y);
        ctx.lineTo(x + 18 * scale, y);
        ctx.stroke();
        ctx.setLineDash([]);
      },
    })),
    ...environments.map((e) => ({
      label: e.name,
      draw: (ctx: CanvasRenderingContext2D, x: number, y: number) => {
        ctx.fillStyle = ENV_COLOURS[e.slot % ENV_COLOURS.length];
        ctx.beginPath();
        ctx.arc(x + 9 * scale, y, 6 * scale, 0, 2 * Math.PI);
        ctx.fill();
      },
    })),
  ];
  // Lay the entries out in rows as wide as the image.
  const measure = document.createElement("canvas").getContext("2d");
  if (!measure) throw new Error("no 2D canvas");
  measure.font = font;
  const pad = 12 * scale;
  const placed: { x: number; row: number; entry: (typeof entries)[number] }[] = [];
  let [x, row] = [pad, 0];
  for (const entry of entries) {
    const w = 24 * scale + measure.measureText(entry.label).width + pad;
    if (x + w > img.width && x > pad) [x, row] = [pad, row + 1];
    placed.push({ x, row, entry });
    x += w;
  }
  const legendHeight = (row + 1) * rowHeight + pad;
  const canvas = document.createElement("canvas");
  canvas.width = img.width;
  canvas.height = img.height + legendHeight;
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("no 2D canvas");
  ctx.fillStyle = bg;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0);
  ctx.font = font;
  ctx.textBaseline = "middle";
  for (const p of placed) {
    const y = img.height + pad / 2 + p.row * rowHeight + rowHeight / 2;
    p.entry.draw(ctx, p.x, y);
    ctx.fillStyle = text;
    ctx.fillText(p.entry.label, p.x + 24 * scale, y);
  }
  return canvas.toDataURL("image/png").replace(/^data:image\/png;base64,/, "");
}
