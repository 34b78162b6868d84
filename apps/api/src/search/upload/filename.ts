// Windows device names stay reserved with any extension ("con.txt"), so the stem is what counts.
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$/i;
// C0 and C1 control characters and DEL.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/; // eslint-disable-line no-control-regex -- matching them is the point

/**
 * Returns why a client-supplied file name is unsafe to keep, or undefined when it is fine. Names are
 * only ever metadata here (nothing is written under them), but they come back to clients and may end
 * up as download names elsewhere, so path tricks and device names are refused rather than rewritten.
 */
export function unsafeFilenameReason(name: string | undefined): string | undefined {
  if (name === undefined || name.trim() === '') return 'the file name is empty';
  if (Buffer.byteLength(name, 'utf8') > 255) return 'the file name is longer than 255 bytes';
  if (CONTROL.test(name)) return 'the file name contains control characters';
  if (name.includes('/') || name.includes('\\')) return 'the file name contains a slash';
  if (name.includes('..')) return 'the file name contains ".."';
  if (name === '.') return 'the file name is "."';
  const stem = name.split('.')[0].trim();
  if (RESERVED.test(stem)) return `"${stem}" is a reserved device name`;
  if (/[. ]$/.test(name)) return 'the file name ends with a dot or a space';
  return undefined;
}
