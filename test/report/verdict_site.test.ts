/**
 * The verdict at a shifted site when the learning curve was measured on that site's own images:
 * how many of them to annotate (a finite prediction), or that more of them will not reach the
 * target with that model (the curve levels off above it). Without such a curve: check the site first.
 */
import { describe, expect, it } from 'vitest';
import { checkThresholds, parseThresholds } from '../../src/report/thresholds';
import { collectionEstimate, decide } from '../../src/report/verdict';

const checks = checkThresholds(parseThresholds('mre<=17.7px'), { unit: 'px', mre: 33.9 });
const shifted = { reasons: ['intensity histograms differ'] };
const est = (images: number, asymptote: number) => collectionEstimate({ target: 17.7, images, lo: images * 0.8, hi: images * 1.5, unreachableShare: 0 }, { unit: 'px', currentImages: 80, minutesPerImage: 6, costPerHour: 60, asymptote });

describe('verdict at a shifted site', () => {
  it('with a curve on this site that reaches the target: annotate that many images of the site', () => {
    const v = decide(checks, { shifted, collection: est(200, 10), collectionOnThisSite: true });
    expect(v.decision).toBe('collect-data');
    expect(v.sentence).toMatch(/^Do not deploy: mre<=17\.7px missed and the data is shifted .*Annotate images of this site and fine-tune on them: about 200 annotated images \(120 more than the 80 measured/);
    expect(v.sentence).toMatch(/12\.0 h of annotation at 6 min per image, cost about 720/);
  });

  it('with a curve on this site that levels off above the target: more images of the site will not do', () => {
    const v = decide(checks, { shifted, collection: est(Infinity, 23.4), collectionOnThisSite: true });
    expect(v.decision).toBe('data-will-not-help');
    expect(v.sentence).toMatch(/levels off at 23\.40 px, above MRE 17\.70 px/);
  });

  it('with a curve from elsewhere, or none: check acquisition first', () => {
    expect(decide(checks, { shifted, collection: est(200, 10), collectionOnThisSite: false }).decision).toBe('site-shift');
    expect(decide(checks, { shifted }).decision).toBe('site-shift');
  });
});
