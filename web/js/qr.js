// QR codes drawn as inline SVG. The encoding is done by the vendored
// qrcode-generator (MIT, vendor/LICENSE-qrcode-generator); this module only
// turns its modules into SVG elements (no markup parsing, nothing inline
// that the Content-Security-Policy would refuse).

import qrcode from './vendor/qrcode-generator.js';

const SVG = 'http://www.w3.org/2000/svg';

/**
 * An <svg role="img"> holding the QR code of `text` (UTF-8, error correction
 * M, the smallest version that fits), with a four-module quiet zone.
 */
export function qrSvg(text, labelText) {
  const qr = qrcode(0, 'M');
  // The library reads one character per byte: hand it the UTF-8 bytes so.
  const bytes = new TextEncoder().encode(text);
  qr.addData(String.fromCharCode(...bytes), 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  const size = n + 8;
  let d = '';
  for (let r = 0; r < n; r += 1) {
    for (let c = 0; c < n; c += 1) {
      if (qr.isDark(r, c)) d += `M${c + 4} ${r + 4}h1v1h-1z`;
    }
  }
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('class', 'qr');
  svg.setAttribute('role', 'img');
  svg.setAttribute('shape-rendering', 'crispEdges');
  if (labelText) svg.setAttribute('aria-label', labelText);
  const bg = document.createElementNS(SVG, 'rect');
  bg.setAttribute('width', String(size));
  bg.setAttribute('height', String(size));
  bg.setAttribute('fill', '#fff');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(bg, path);
  return svg;
}
