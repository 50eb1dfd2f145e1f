/**
 * `Symbol.dispose` / `Symbol.asyncDispose` where the runtime lacks them (Node ≥ 20 and current
 * browsers have both): the same registered symbols TypeScript's `using` helper falls back to, so
 * `[Symbol.dispose]()` methods defined after this import exist on every host.
 */
const S = Symbol as unknown as { dispose?: symbol; asyncDispose?: symbol };
if (!S.dispose) Object.defineProperty(Symbol, 'dispose', { value: Symbol.for('Symbol.dispose') });
if (!S.asyncDispose) Object.defineProperty(Symbol, 'asyncDispose', { value: Symbol.for('Symbol.asyncDispose') });
export {};
