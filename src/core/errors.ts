// Errors the engine reports to people: a stable code, a message that names the problem, and a hint
// that says what to do. They cross the process boundary as plain objects (see toErrorInfo).

export type ErrorCode =
  | 'IMAGE_NOT_FOUND' | 'IMAGE_EMPTY' | 'IMAGE_UNSUPPORTED' | 'IMAGE_CORRUPT' | 'IMAGE_TOO_LARGE'
  | 'MODEL_NOT_FOUND' | 'MODEL_NOT_ONNX' | 'MODEL_LOAD_FAILED' | 'MODEL_BAD_INPUT' | 'MODEL_NOT_VIT' | 'MODEL_FUSED_ATTENTION'
  | 'MODEL_WRONG_TASK' | 'MODEL_BAD_OUTPUT' | 'INFERENCE_FAILED'
  | 'CANCELLED' | 'ENGINE_CRASHED' | 'TIMEOUT' | 'BAD_REQUEST' | 'INTERNAL';

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
