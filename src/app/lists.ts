/**
 * The two lists of the page: the landmarks of the current image (all of them, and the
 * low-confidence ones apart) and the strip of opened images with their thumbnails.
 */
import { $, escapeHtml } from './dom';
import type { ImageRecord } from './state';
import { confidenceLevels } from './viewer';

/** Fills #landmark-list and #low-confidence; a click on a row selects that landmark. */
export function renderLandmarkList(im: ImageRecord | undefined, names: readonly string[], selected: number, onSelect: (k: number) => void): void {
  const levels = confidenceLevels(im?.confidence ?? []);
  const row = (k: number) => {
    const [x, y] = im!.points[k]!;
    const peak = im!.confidence[k];
    return `<li data-k="${k}" class="conf-${levels[k] ?? 'none'}${k === selected ? ' selected' : ''}">${k + 1}. ${escapeHtml(names[k] ?? '')} ` +
      `<small>(${x.toFixed(1)}, ${y.toFixed(1)})${im!.corrected[k] ? ' ✎ corrected' : ''}${peak !== undefined ? ` peak ${peak.toFixed(3)}` : ''}</small></li>`;
  };
  const ks = im ? im.points.map((_, k) => k) : [];
  const low = ks.filter((k) => levels[k] === 'low');
  $('#low-confidence').innerHTML = low.length ? `<b>Low confidence (${low.length}):</b><ul>${low.map(row).join('')}</ul>` : im?.confidence.length ? 'No low-confidence landmarks.' : '';
  $('#landmark-list').innerHTML = ks.map(row).join('');
  for (const li of Array.from(document.querySelectorAll<HTMLElement>('#landmark-list li, #low-confidence li'))) li.addEventListener('click', () => onSelect(Number(li.dataset.k)));
}

/** Fills #strip with one button per image (thumbnail when made, name; corrected ones underlined). */
export function renderStrip(images: readonly ImageRecord[], selected: number, thumbs: ReadonlyMap<string, string>, onPick: (i: number) => void): void {
  const strip = $('#strip');
  strip.innerHTML = '';
  images.forEach((im, i) => {
    const b = document.createElement('button');
    b.className = `thumb${i === selected ? ' selected' : ''}${im.corrected.some(Boolean) ? ' has-corrections' : ''}`;
    b.title = im.name;
    const t = thumbs.get(im.id);
    b.innerHTML = `${t ? `<img src="${t}" alt="">` : '<span class="placeholder"></span>'}<span>${escapeHtml(im.name)}</span>`;
    b.addEventListener('click', () => onPick(i));
    strip.append(b);
  });
}
