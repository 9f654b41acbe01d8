import { randomBytes } from "node:crypto";

export interface FormPart {
  name: string;
  filename?: string;
  /** Defaults to `application/octet-stream` for file parts (as Go's `CreateFormFile`), none otherwise. */
  contentType?: string;
  body: Buffer;
}

/** A `multipart/form-data` body as pyroscope-go and older Node SDKs send it. */
export function multipartForm(parts: FormPart[]): { body: Buffer; contentType: string } {
  const boundary = `relay${randomBytes(12).toString("hex")}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${quote(part.name)}"`;
    if (part.filename !== undefined) head += `; filename="${quote(part.filename)}"`;
    const contentType = part.contentType ?? (part.filename !== undefined ? "application/octet-stream" : undefined);
    if (contentType) head += `\r\nContent-Type: ${contentType}`;
    chunks.push(Buffer.from(`${head}\r\n\r\n`), part.body, Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Escapes as browsers and Go's mime/multipart do for a quoted form-data parameter. */
function quote(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
