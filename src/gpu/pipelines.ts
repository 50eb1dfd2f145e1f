import { ShaderCompileError } from './errors';

/**
 * Compute pipelines cached by their final WGSL text (after templating), so two kernels that
 * generate the same code share one pipeline and a changed constant always compiles anew.
 *
 * `get` compiles synchronously on a miss (so ops can stay synchronous); compile messages arrive
 * asynchronously and are reported through `onError` with line, column and source context.
 * `prepare` compiles ahead with createComputePipelineAsync and throws compile errors directly.
 */
export class PipelineCache {
  private cache = new Map<string, GPUComputePipeline>();
  private pending = new Map<string, Promise<GPUComputePipeline>>();
  compiled = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly onError: (err: Error) => void,
    private readonly debug: boolean,
  ) {}

  get(name: string, code: string): GPUComputePipeline {
    const hit = this.cache.get(code);
    if (hit) return hit;
    if (this.debug) console.error(`[osteo] compiling ${name}:\n${code}`);
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label: name });
    const pipeline = this.device.createComputePipeline({
      label: name,
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
    void this.device.popErrorScope().then(async (err) => {
      if (!err) return;
      const detail = await describeCompile(name, code, module);
      this.onError(new ShaderCompileError(detail ?? `${name}: pipeline creation failed: ${err.message}`));
    });
    this.cache.set(code, pipeline);
    this.compiled++;
    return pipeline;
  }

  async prepare(name: string, code: string): Promise<GPUComputePipeline> {
    const hit = this.cache.get(code);
    if (hit) return hit;
    let p = this.pending.get(code);
    if (!p) {
      p = (async () => {
        if (this.debug) console.error(`[osteo] compiling ${name}:\n${code}`);
        // scoped so a WGSL error is this promise's rejection, not an uncaptured device error
        this.device.pushErrorScope('validation');
        const module = this.device.createShaderModule({ code, label: name });
        const moduleError = await this.device.popErrorScope();
        if (moduleError) throw new ShaderCompileError((await describeCompile(name, code, module)) ?? `${name}: ${moduleError.message}`);
        let pipeline: GPUComputePipeline;
        try {
          pipeline = await this.device.createComputePipelineAsync({
            label: name,
            layout: 'auto',
            compute: { module, entryPoint: 'main' },
          });
        } catch (e) {
          // the compile messages say where; ask for them only when it failed (each query is a round trip)
          throw new ShaderCompileError((await describeCompile(name, code, module)) ?? `${name}: pipeline creation failed: ${(e as Error).message}`);
        }
        this.cache.set(code, pipeline);
        this.compiled++;
        return pipeline;
      })().finally(() => this.pending.delete(code));
      this.pending.set(code, p);
    }
    return p;
  }

  /** Whether `code` is compiled (or being compiled by `prepare`). */
  has(code: string): boolean {
    return this.cache.has(code) || this.pending.has(code);
  }

  get size(): number {
    return this.cache.size;
  }
}

/** Formats WGSL compile errors as `name:line:col: message` followed by the numbered source lines around it. */
async function describeCompile(name: string, code: string, module: GPUShaderModule): Promise<string | null> {
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length === 0) return null;
  const lines = code.split('\n');
  return errors
    .map((m) => {
      const from = Math.max(1, m.lineNum - 3);
      const to = Math.min(lines.length, m.lineNum + 2);
      const context = [];
      for (let i = from; i <= to; i++) {
        context.push(`${i === m.lineNum ? '>' : ' '}${String(i).padStart(5)} | ${lines[i - 1]}`);
        if (i === m.lineNum) context.push(`       | ${' '.repeat(Math.max(0, m.linePos - 1))}^`);
      }
      return `WGSL compile error in ${name}:${m.lineNum}:${m.linePos}: ${m.message}\n${context.join('\n')}`;
    })
    .join('\n\n');
}
