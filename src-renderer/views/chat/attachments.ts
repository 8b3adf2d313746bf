// Images attached to a message: read from a picker, a drop or a paste into base64 for chats.send,
// with a preview URL. Only image files are taken; the backend checks the bytes again.

export interface Pending { name: string; data: string; preview: string }

const MAX_BYTES = 16 * 1024 * 1024;

export async function readImages(files: Iterable<File>): Promise<{ ok: Pending[]; rejected: string[] }> {
  const ok: Pending[] = [];
  const rejected: string[] = [];
  for (const f of files) {
    if (!f.type.startsWith('image/')) { rejected.push(`${f.name || 'file'} is not an image`); continue; }
    if (f.size > MAX_BYTES) { rejected.push(`${f.name} is larger than 16 MB`); continue; }
    const url = await new Promise<string>((resolve, reject) => {
      const r = new FileReader();
      r.onload = () => resolve(String(r.result));
      r.onerror = () => reject(r.error);
      r.readAsDataURL(f);
    });
    ok.push({ name: f.name || 'pasted.png', data: url.slice(url.indexOf(',') + 1), preview: url });
  }
  return { ok, rejected };
}
