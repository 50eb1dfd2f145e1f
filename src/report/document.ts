/**
 * The decision report as data (host-neutral): what `osteo report` writes as report.json and what
 * the markdown and HTML renderings show (src/report/render.ts).
 */
import type { AnnotatorAgreement } from '../data/annotators';
import type { OffsetSummary } from './offsets';
import type { LandmarkStatsJson, StatsJson } from '../landmarks/report_json';
import type { OperationalReport } from './operational';
import type { PowerLawFit, TargetPrediction } from './powerlaw';
import type { ShiftSignals } from './shift';
import type { Interval } from '../util/stats';
import type { ThresholdCheck } from './thresholds';
import type { CollectionEstimate, Verdict } from './verdict';

export interface ImageRow {
  id: string;
  mre: number;
  max: number;
  confidence: number;
}

export interface ClinicalSection {
  unit: 'mm' | 'px';
  sdrRadii: number[];
  images: number;
  overall: StatsJson;
  perLandmark: LandmarkStatsJson[];
  baseline: { describe: string; overall: StatsJson; perLandmark: { landmark: number; name: string; mre: number }[] };
  /** The worst images, worst first (overlays in the HTML). */
  worst: ImageRow[];
  perImage: ImageRow[];
  /** Each landmark's error as a systematic offset (the same shift on every image) and the spread around it. */
  offsets?: OffsetSummary;
  /** Where the data has two annotators: how far apart they are (the floor of any measurement). */
  annotators?: AnnotatorAgreement;
}

export interface LearningCurveSection {
  file: string;
  data: string;
  unit: 'mm' | 'px';
  target: number | null;
  fit: PowerLawFit | null;
  prediction: TargetPrediction | null;
  collection: CollectionEstimate | null;
  sentence: string;
}

export interface ShiftSection {
  reference: string;
  referenceImages: number;
  images: number;
  unit: 'mm' | 'px';
  /** The same metrics on both sets. */
  referenceOverall: StatsJson;
  targetOverall: StatsJson;
  /** The reference's unit (when it differs from `unit`, errors are not compared). */
  referenceUnit: 'mm' | 'px';
  /** Per-image MRE, this data − reference, 95 % bootstrap interval (null when the units differ). */
  mreDifference: Interval | null;
  /** SDR at the first radius (percentage points), this data − reference (null when the units differ). */
  sdrDifference: (Interval & { radius: string }) | null;
  signals: ShiftSignals;
}

export interface ReportDoc {
  kind: 'osteo-report';
  title: string;
  generated: string;
  verdict: Verdict;
  thresholds: ThresholdCheck[];
  model: { path: string; size: number; landmarks: number; parameters: number; decode: string };
  data: { spec: string; split: string | null; images: number; skipped: number; unit: 'mm' | 'px' };
  clinical: ClinicalSection;
  operational: OperationalReport | null;
  learningCurve: LearningCurveSection | null;
  shift: ShiftSection | null;
  notes: string[];
}
