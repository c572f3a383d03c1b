// Errors the engine reports to people: a stable code, a message that names the problem, and a hint
// that says what to do. They cross the process boundary as plain objects (see toErrorInfo).

export type ErrorCode =
  | 'IMAGE_NOT_FOUND' | 'IMAGE_EMPTY' | 'IMAGE_UNSUPPORTED' | 'IMAGE_CORRUPT' | 'IMAGE_TOO_LARGE'
  | 'MODEL_NOT_FOUND' | 'MODEL_NOT_ONNX' | 'MODEL_LOAD_FAILED' | 'MODEL_BAD_INPUT' | 'MODEL_NOT_VIT' | 'MODEL_FUSED_ATTENTION'
  | 'MODEL_WRONG_TASK' | 'MODEL_BAD_OUTPUT' | 'MODEL_NO_GATES' | 'INFERENCE_FAILED'
  | 'CANCELLED' | 'ENGINE_CRASHED' | 'TIMEOUT' | 'BAD_REQUEST' | 'INTERNAL' | 'RESULT_EXPIRED'
  // model catalogue, cache and downloads (src/models)
  | 'CATALOGUE_INVALID' | 'MODEL_UNKNOWN' | 'MODEL_NOT_DOWNLOADED'
  | 'DOWNLOAD_UNAUTHORIZED' | 'DOWNLOAD_NOT_FOUND' | 'DOWNLOAD_OFFLINE' | 'DOWNLOAD_PROXY' | 'DOWNLOAD_FAILED'
  | 'DOWNLOAD_CHECKSUM' | 'DISK_FULL';

/** What ViT Lens can show, for the messages of models that have none of it. */
export const SHOWABLE_ATTENTION = 'ViT Lens shows: self-attention of vision transformers with an unfused Softmax (ViT, DeiT, DINO, DINOv2, BEiT); '
  + 'DPT depth and segmentation models with their ViT backbone\'s attention; and channel/spatial gates of CNNs (SE-Net, SE-ResNet, EfficientNet, MobileNetV3, CBAM: a Sigmoid or HardSigmoid that multiplies a feature map).';

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  hint?: string;
}

export class VitLensError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly hint?: string) {
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

/** "message. hint" for one-line output (CLI, notifications). */
export function describeError(e: unknown): string {
  const info = toErrorInfo(e);
  return info.hint ? `${info.message} ${info.hint}` : info.message;
}
