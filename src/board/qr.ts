// A BOLT11 invoice as a QR code a phone wallet scans: the modules from the `qr` package (Paul Miller's encoder,
// no dependencies; the author of the @noble/@scure libraries the protocol code already uses), drawn as SVG elements
// made one by one. No image, data: URL or markup string: the page's Content-Security-Policy allows none.
// The invoice is written in capitals with the `lightning:` scheme, which QR's alphanumeric mode packs densely and
// every wallet reads (BOLT11's bech32 ignores case).
import { encodeQR } from 'qr';
import type { PageElement } from '../web/browser.ts';
import type { BoardDocument } from './browser.ts';

const SVG = 'http://www.w3.org/2000/svg';
/** Light modules around the code, as the QR standard asks. */
const QUIET_ZONE = 4;

/** What the QR code carries for an invoice. */
export function invoiceQrText(bolt11: string): string {
  return `lightning:${bolt11}`.toUpperCase();
}

/** The modules of the QR code of `text`, its quiet zone included: true is dark. */
export function qrModules(text: string): boolean[][] {
  return encodeQR(text, 'raw', { ecc: 'medium', border: QUIET_ZONE });
}

/** An <svg> of the QR code, one path for every dark module, crisp at any size. */
export function renderQr(document: BoardDocument, text: string, label: string): PageElement {
  const modules = qrModules(text);
  const size = modules.length;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('class', 'qr');
  const background = document.createElementNS(SVG, 'rect');
  background.setAttribute('width', String(size));
  background.setAttribute('height', String(size));
  background.setAttribute('fill', '#fff');
  const path = document.createElementNS(SVG, 'path');
  let d = '';
  modules.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (dark) d += `M${x} ${y}h1v1h-1z`;
    });
  });
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(background, path);
  return svg;
}
