// An image being generated: each image-progress event carries a PNG of the positions decoded so
// far; it is drawn onto a canvas as it arrives (the blank rest fills in over time), then replaced
// by the finished file. The canvas's data-drawn says how many positions it shows (set once painted).
import { useEffect, useRef } from 'react';
import type { StreamImage } from '../../api/streams.ts';
import { mediaUrl } from '../../api/transport.ts';

export function ProgressiveImage({ image }: { image: StreamImage }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const src = image.url ? mediaUrl(image.url) : image.dataUrl;
  const shown = image.url ? image.positions : image.done;
  useEffect(() => {
    if (!src) return;
    let alive = true;
    const img = new Image();
    img.onload = () => {
      const c = canvas.current;
      if (!alive || !c) return;
      if (c.width !== img.naturalWidth || c.height !== img.naturalHeight) { c.width = img.naturalWidth; c.height = img.naturalHeight; }
      const ctx = c.getContext('2d')!;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(img, 0, 0);
      c.dataset.drawn = String(shown);
    };
    img.src = src;
    return () => { alive = false; };
  }, [src, shown]);
  const pct = image.positions > 0 ? Math.round((100 * image.done) / image.positions) : 0;
  return (
    <figure className="gen-image" data-state={image.url ? 'done' : 'drawing'}>
      <canvas ref={canvas} width={64} height={64} aria-label={image.url ? 'Generated image' : `Drawing image, ${pct}%`} />
      {!image.url && <figcaption className="faint">Drawing… {pct}%</figcaption>}
    </figure>
  );
}
