// The one error type of ViT Lens: a stable code, a message that names the problem, and a hint that says
// what to do. The engine, the extension host, the CLI and the model store all raise it; it crosses the
// engine's process boundary as a plain ErrorInfo (toErrorInfo / fromErrorInfo). Shared contract: imports
// nothing, so every room (browser side included) may use it.

export type ErrorCode =
  // images
  | 'IMAGE_NOT_FOUND'
  | 'IMAGE_NOT_A_FILE'
  | 'IMAGE_EMPTY'
  | 'IMAGE_UNSUPPORTED'
  | 'IMAGE_CORRUPT'
  | 'IMAGE_TOO_LARGE'
  // models
  | 'MODEL_NOT_CONFIGURED'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_NOT_ONNX'
  | 'MODEL_LOAD_FAILED'
  | 'MODEL_BAD_INPUT'
  | 'MODEL_NOT_VIT'
  | 'MODEL_FUSED_ATTENTION'
  | 'MODEL_WRONG_TASK'
  | 'MODEL_BAD_OUTPUT'
  | 'MODEL_NO_GATES'
  // inside the ViT: a view the model's weights cannot give
  | 'MODEL_NO_PATCH_EMBEDDING'
  | 'MODEL_NO_POSITION_TABLE'
  | 'INFERENCE_FAILED'
  // class-specific maps: a target class the model does not have
  | 'CLASS_OUT_OF_RANGE'
  | 'CLASS_UNKNOWN'
  // runs and the engine process
  | 'CANCELLED'
  | 'ENGINE_CRASHED'
  | 'TIMEOUT'
  | 'BAD_REQUEST'
  | 'INTERNAL'
  | 'RESULT_EXPIRED'
  // the command line: a wrong flag or argument (exit code 2)
  | 'USAGE'
  // model catalogue, cache and downloads (src/models)
  | 'CATALOGUE_INVALID'
  | 'MODEL_UNKNOWN'
  | 'MODEL_NOT_DOWNLOADED'
  | 'DOWNLOAD_UNAUTHORIZED'
  | 'DOWNLOAD_NOT_FOUND'
  | 'DOWNLOAD_OFFLINE'
  | 'DOWNLOAD_PROXY'
  | 'DOWNLOAD_FAILED'
  | 'DOWNLOAD_CHECKSUM'
  | 'DISK_FULL';

/** What ViT Lens can show, for the messages of models that have none of it. */
export const SHOWABLE_ATTENTION =
  'ViT Lens shows: self-attention of vision transformers with an unfused Softmax (ViT, DeiT, DINO, DINOv2, BEiT); ' +
  "DPT depth and segmentation models with their ViT backbone's attention; and channel/spatial gates of CNNs (SE-Net, SE-ResNet, EfficientNet, MobileNetV3, CBAM: a Sigmoid or HardSigmoid that multiplies a feature map).";

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  hint?: string;
}

export class VitLensError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'VitLensError';
  }
}

export function toErrorInfo(e: unknown): ErrorInfo {
  if (e instanceof VitLensError) return { code: e.code, message: e.message, hint: e.hint };
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'INTERNAL', message };
}

export function fromErrorInfo(info: ErrorInfo): VitLensError {
  return new VitLensError(info.code, info.message, info.hint);
}

/** Any thrown value as a VitLensError (unknown errors become INTERNAL). */
export function asVitLensError(e: unknown): VitLensError {
  return e instanceof VitLensError ? e : fromErrorInfo(toErrorInfo(e));
}

/** "message. hint" for one-line output (CLI, notifications). */
export function describeError(e: unknown): string {
  const info = toErrorInfo(e);
  return info.hint ? `${info.message} ${info.hint}` : info.message;
}
