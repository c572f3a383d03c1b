// Stage timings of a run, in milliseconds: one type for every analysis (each names its stages), made by
// the pipeline kit's StageTimer. Shared contract: types only.

/** The stages pipelines time: decode the image, load the model (0 when its session was cached), preprocess, run, then analyse or post-process. */
export type StageName = 'decode' | 'modelLoad' | 'preprocess' | 'inference' | 'analysis' | 'postprocess';

/** Milliseconds per stage, and the whole run (`total`). */
export type StageTimings<S extends string = StageName> = { [K in S]: number } & { total: number };
