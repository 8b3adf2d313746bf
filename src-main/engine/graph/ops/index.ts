// All graph ops in one import. Importing this module registers every op and its gradient rule.
export * from './core.ts';
export * from './elementwise.ts';
export * from './reduce.ts';
export * from './shape.ts';
export * from './matmul.ts';
export * from './softmax.ts';
export * from './gather.ts';
export * from './conv.ts';
export * from './discrete.ts';
export * from './nograd.ts';
export * from './contrib.ts';
