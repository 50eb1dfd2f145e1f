/**
 * The one HTML escaper (host-neutral): text and double-quoted attribute values in the report's
 * HTML and SVG, the experiment and benchmark reports, and the web app's lists.
 */
export const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
