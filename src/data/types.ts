/** Common types for landmark data sets and images. Browser-safe. */
import { OsteoError } from '../gpu/errors';

/** A landmark position in pixels: pixel centres at integer coordinates, origin top-left, x right. */
export type Point = [number, number];

/**
 * A grey image. `data` is row-major, `width * height` values in the source's own range
 * (0..2^bitDepth-1 for decoded files; synthetic images are 0..255).
 */
export interface GreyImage {
  width: number;
  height: number;
  data: Float32Array;
  /** Bits per sample of the source (8 for palette/RGB/JPEG, 16 for 16-bit PNG). */
  bitDepth: number;
  /** Pixel spacing in mm when the file states it (DICOM, MetaImage, TIFF with a resolution unit). */
  spacing?: PixelSpacing;
  /** The file's display window (DICOM VOI window centre/width), in the units of `data`. */
  window?: { center: number; width: number };
  /** What the decoder wants a reader to know (e.g. "multi-frame: frame 1 of 3 used"). */
  notes?: string[];
}

/** mm per pixel along x (columns) and y (rows), with where it came from. */
export interface PixelSpacing {
  x: number;
  y: number;
  /** The tag or field it was read from: 'PixelSpacing', 'ImagerPixelSpacing', 'ElementSpacing', 'TIFF resolution'. */
  source: string;
  /** A calibration caveat (e.g. ImagerPixelSpacing is at the detector, not the patient). */
  note?: string;
}

/**
 * One mm-per-pixel number for a spacing, as the metrics take it: the geometric mean of x and y
 * (exact for square pixels, which X-ray detectors have; an anisotropic spacing is within its ratio).
 */
export const mmPerPixelOf = (s: PixelSpacing): number => Math.sqrt(s.x * s.y);

/** One labelled image of a data set: where its pixels are, and its points in those pixels. */
export interface LandmarkItem {
  id: string;
  /** File to decode. Synthetic items carry `image` instead and a `synthetic:` pseudo path. */
  imagePath: string;
  /** K points in original image pixels. */
  points: Point[];
  mmPerPixel?: number;
  /** Image size when the reader knew it (from the file header). */
  width?: number;
  height?: number;
  /** In-memory image (synthetic data sets). */
  image?: GreyImage;
}

/** What a reader left out, and why. */
export interface ReadReport {
  /** Items rejected as bad (each error names file and row). */
  skipped: number;
  errors: DataError[];
  /** Labelled rows whose image file is absent, when the reader treats that as normal (hand, chest). */
  missingImages: number;
  /** Free-form notes (e.g. which annotator was used). */
  notes: string[];
}

/** A labelled data set as the readers return it (images not decoded yet, except in-memory ones). */
export interface LandmarkDataset {
  name: string;
  landmarkNames?: string[];
  /** Landmarks per image. */
  k: number;
  items: LandmarkItem[];
  /** Unit of errors: 'mm' when every item has mmPerPixel. */
  unit: 'mm' | 'px';
  /** Named id lists (e.g. ISBI 2015 train / test1 / test2). */
  splits?: Record<string, string[]>;
  report?: ReadReport;
  /**
   * Where several annotators marked the images: how far apart they are (the floor no model can be
   * measured below) and whose points are the truth.
   */
  annotators?: { names: string[]; truth: string; agreement?: import('./annotators').AnnotatorAgreement };
  /**
   * A set combined from several (`spec+spec`): the parts' names, in order. Item ids are then
   * `NAME/ID`, and a validation split is drawn within each part (the same images as for that part
   * alone, so a model fine-tuned on the union keeps its held-out images held out).
   */
  sources?: string[];
}


/** Bad input data: the message names the file and (where it applies) the 1-based row. */
export class DataError extends OsteoError {
  readonly file: string;
  readonly row: number | undefined;
  constructor(file: string, row: number | undefined, what: string) {
    super(`${file}${row !== undefined ? `:${row}` : ''}: ${what}`);
    this.file = file;
    this.row = row;
  }
}

export const emptyReport = (): ReadReport => ({ skipped: 0, errors: [], missingImages: 0, notes: [] });

/** Half a pixel of tolerance on each side: either pixel-centre or pixel-edge conventions pass. */
export function pointInside(p: Point, width: number, height: number): boolean {
  return p[0] >= -0.5 && p[0] <= width && p[1] >= -0.5 && p[1] <= height;
}
