// The API between the renderer (or any script) and the backend: every method's request and response
// as zod schemas, the server→client event union, the error shape, and the transport conventions
// shared by HTTP+WebSocket (src-main/server) and Electron IPC (src-main/electron). No Node imports:
// the renderer imports this file. Requests are validated at the boundary with parseRequest().
import { z } from 'zod';

export const API_VERSION = 1;

// ---- transport conventions ----
/** Every method is `POST ${API_PREFIX}/<method>` with the JSON request as body (e.g. POST /api/chats.send). */
export const API_PREFIX = '/api';
/** `GET /api/health` also answers the health method (curl-friendly). */
export const HEALTH_PATH = '/api/health';
/** WebSocket for ApiEvents (server → client), `ws://host/api/events?token=TOKEN`. */
export const EVENTS_PATH = '/api/events';
/** Image bytes: GET /api/files/<kind>/<id> (add `?token=` for <img> tags). */
export const FILE_KINDS = ['items', 'generations', 'attachments', 'samples'] as const;
export type FileKind = (typeof FILE_KINDS)[number];
export const fileUrl = (kind: FileKind, id: number): string => `${API_PREFIX}/files/${kind}/${id}`;
/** The renderer reads its token from the page URL's fragment: `http://127.0.0.1:PORT/#token=…`. */
export const TOKEN_FRAGMENT = 'token';
/** Electron IPC channels: invoke(IPC_CALL, method, request) → IpcReply; events on IPC_EVENT. */
export const IPC_CALL = 'tessera:call';
export const IPC_EVENT = 'tessera:event';

// ---- errors ----
export const ApiError = z.object({ name: z.string(), message: z.string(), details: z.unknown().optional() });
export type ApiError = z.infer<typeof ApiError>;
/** What IPC returns (HTTP uses the status code instead: 200 with the response, or 4xx/5xx with ApiError). */
export type IpcReply = { ok: true; result: unknown } | { ok: false; error: ApiError };

/** A request that does not match its schema; `field` is the dotted path of the first bad field. */
export class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(readonly method: string, readonly field: string, problem: string) {
    super(`${method}: ${field}: ${problem}`);
  }
}

// ---- shared pieces ----
const Id = z.int().min(1, 'expected a positive integer id');
const Count = z.int().min(0, 'expected an integer >= 0');
const Time = z.number(); // unix milliseconds
const Empty = z.object({}).strict();
const ById = z.object({ id: Id }).strict();
const Json = z.record(z.string(), z.unknown());
const Deleted = z.object({ deleted: z.boolean() });
/** Metric values; non-finite numbers (a diverged loss) cross JSON as null. */
const Metrics = z.record(z.string(), z.number().nullable());

export const JOB_KINDS = ['import', 'tokenize', 'train', 'evaluate', 'generate'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export const JOB_STATUSES = ['queued', 'running', 'paused', 'done', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const PROVIDERS = ['cpu', 'cuda', 'dml', 'coreml', 'webgpu'] as const;
export const SPLITS = ['train', 'validation', 'test'] as const;
export const ITEM_STATUSES = ['ok', 'broken', 'duplicate', 'near-duplicate'] as const;
export const IMPORT_KINDS = ['imagefolder', 'folder', 'coco', 'csv', 'emoji'] as const;
export const MODEL_KINDS = ['tokenizer', 'lm', 'unified'] as const;

export const Progress = z.object({
  step: Count,
  total: Count,
  phase: z.string(),
  loss: z.number().nullable(),
  etaSeconds: z.number().nullable(),
  metrics: Metrics,
});
export type Progress = z.infer<typeof Progress>;

export const Job = z.object({
  id: Id,
  kind: z.enum(JOB_KINDS),
  status: z.enum(JOB_STATUSES),
  /** A one-line description for lists ("Train classifier on Fashion-MNIST"). */
  title: z.string(),
  params: Json,
  progress: Progress.nullable(),
  error: z.string().nullable(),
  /** The training run (train jobs), the dataset (import/tokenize), the result (when done). */
  runId: Id.nullable(),
  datasetId: Id.nullable(),
  result: Json.nullable(),
  createdAt: Time,
  updatedAt: Time,
});
export type Job = z.infer<typeof Job>;

// ---- app, models, runtime ----
const Health = z.object({ ok: z.literal(true), version: z.string(), apiVersion: z.int(), schemaVersion: z.int(), uptimeSeconds: z.number() });
const AppInfo = z.object({
  version: z.string(), platform: z.string(), arch: z.string(), cores: z.int(),
  dataDir: z.string(), modelsDirs: z.array(z.string()),
});

export const Model = z.object({
  id: Id,
  name: z.string(),
  kind: z.enum(MODEL_KINDS),
  dir: z.string(),
  /** The model card from tessera.json (recipe, parts, description, …). */
  card: Json,
  /** Measured numbers from the card (e.g. caption accuracy, FID, codebook usage on the held-out style). */
  metrics: Metrics,
  createdAt: Time,
});
export type Model = z.infer<typeof Model>;

export const Evaluation = z.object({
  id: Id, modelId: Id, runId: Id.nullable(), datasetId: Id.nullable(),
  split: z.enum(SPLITS).nullable(), metrics: Json, createdAt: Time,
});
export type Evaluation = z.infer<typeof Evaluation>;

const ProviderInfo = z.object({ name: z.enum(PROVIDERS), available: z.boolean(), reason: z.string() });
const RuntimeSettings = z.object({
  provider: z.enum(PROVIDERS),
  /** Intra-op threads of background jobs: training, tokenizing, evaluation. */
  threads: z.int().min(1),
  /** Intra-op threads of chat replies, captions and drawing (batch-1 decoding of small models is
   *  fastest on fewer threads: the default model draws in ~0.24 s on 1 thread, ~0.4 s on 2 here). */
  inferenceThreads: z.int().min(1),
  maxThreads: z.int().min(1),
  providers: z.array(ProviderInfo),
});
export type RuntimeSettings = z.infer<typeof RuntimeSettings>;

// ---- chats ----
export const Attachment = z.object({ id: Id, kind: z.literal('image'), width: z.int(), height: z.int(), url: z.string() });
export const Message = z.object({
  id: Id, chatId: Id, ordinal: Count, role: z.enum(['system', 'user', 'assistant']),
  content: z.string(), createdAt: Time, attachments: z.array(Attachment),
  /** The labelled examples an answer leaned on (the model's example memory), largest share first; null: none. */
  memory: z.array(z.object({ answer: z.string(), share: z.number().min(0).max(1) })).nullable(),
  /** The reply's drawings that were drawn by example: the image's index among the reply's images, and
   *  which of the memory's examples of `label` it redraws (example of `of`); null: none. */
  drawnFrom: z.array(z.object({ index: Count, label: z.string(), example: z.int().min(1), of: z.int().min(1) })).nullable(),
});
export type Message = z.infer<typeof Message>;
export const Chat = z.object({ id: Id, title: z.string(), modelId: Id.nullable(), createdAt: Time, updatedAt: Time });
export type Chat = z.infer<typeof Chat>;

/** An uploaded image: base64 bytes of a PNG/JPEG/WebP/GIF file (at most ~16 MB decoded). */
const ImageUpload = z.object({
  data: z.string().min(1, 'must not be empty').max(22_000_000, 'image too large (at most ~16 MB)'),
  name: z.string().optional(),
}).strict();

const TextSampling = z.object({
  temperature: z.number().min(0).max(5).optional(),
  topK: z.int().min(0).optional(),
  topP: z.number().gt(0).max(1).optional(),
  maxNewTokens: z.int().min(1).max(8192).optional(),
  seed: z.int().min(0).max(0xffffffff).optional(),
  /** The model's example memory for the questions it knows (on by default when the model has one). */
  memory: z.boolean().optional(),
}).strict();

// ---- generate / gallery ----
const GenerateRequest = z.object({
  prompt: z.string().min(1, 'must not be empty'),
  n: z.int().min(1).max(16).default(1),
  /** null = random (the seed used comes back in the response). */
  seed: z.int().min(0).max(0xffffffff).nullable().default(null),
  cfg: z.number().min(1).max(20).default(3),
  temperature: z.number().min(0).max(5).default(1),
  topK: z.int().min(0).default(0),
  /** Drawing by example: a prompt naming a label the model's example memory holds images of is drawn
   *  by the model rewriting one of them (the generation's params say which); false: the LM alone. */
  examples: z.boolean().default(true),
  modelId: Id.optional(),
}).strict();
export const Generation = z.object({
  id: Id, prompt: z.string(), params: Json, modelId: Id.nullable(), url: z.string(), createdAt: Time,
});
export type Generation = z.infer<typeof Generation>;

// ---- datasets ----
export const Dataset = z.object({
  id: Id, name: z.string(), sourceKind: z.enum(IMPORT_KINDS), rootPath: z.string(), createdAt: Time,
  total: Count,
  byStatus: z.record(z.enum(ITEM_STATUSES), Count),
  bySplit: z.record(z.enum([...SPLITS, 'none']), Count),
  importErrors: Count,
  /** 'importing' while an import job adds rows (or after it was interrupted), then 'done', 'failed' or 'cancelled'. */
  importStatus: z.enum(['importing', 'done', 'failed', 'cancelled']),
  importError: z.string().nullable(),
});
export type Dataset = z.infer<typeof Dataset>;

export const Item = z.object({
  id: Id, datasetId: Id, path: z.string(), bytes: Count, width: z.int().nullable(), height: z.int().nullable(),
  status: z.enum(ITEM_STATUSES), statusReason: z.string().nullable(), duplicateOf: Id.nullable(),
  split: z.enum(SPLITS).nullable(), caption: z.string().nullable(), url: z.string(),
});
export type Item = z.infer<typeof Item>;
const CaptionEntry = z.object({ id: Id, text: z.string(), isCurrent: z.boolean(), source: z.enum(['import', 'user', 'model']), createdAt: Time });

const ItemsQuery = z.object({
  datasetId: Id,
  /** Case-insensitive substring of the caption or path. */
  text: z.string().min(1).optional(),
  tag: z.string().min(1).optional(),
  /** A split, or 'none' for items without one. */
  split: z.enum([...SPLITS, 'none']).optional(),
  /** 'ok', 'broken', 'duplicate', 'near-duplicate'. */
  status: z.enum(ITEM_STATUSES).optional(),
  /** true: only items marked duplicate/near-duplicate; false: only the others. */
  duplicate: z.boolean().optional(),
  /** Only the duplicates of this item (one group without its keeper). */
  duplicateOf: Id.optional(),
  minWidth: Count.optional(), maxWidth: Count.optional(), minHeight: Count.optional(), maxHeight: Count.optional(),
  /** Keyset paging: pass the previous page's nextAfterId. */
  afterId: Count.optional(),
  limit: z.int().min(1).max(1000).default(200),
}).strict();

const SplitSpec = z.union([
  z.object({ seed: z.int().min(0).max(0xffffffff), fractions: z.object({ train: z.number(), validation: z.number(), test: z.number() }).strict() }).strict(),
  z.object({ byPathPrefix: z.record(z.string().min(1), z.enum(SPLITS)) }).strict(),
]);

const CodebookUsage = z.object({
  tokenizerId: z.string(), fraction: z.number(), distinct: Count, codebookSize: Count, items: Count, codes: Count,
  /** How often each code occurs, in code order (codebookSize entries): the usage chart. */
  histogram: z.array(Count),
});

// ---- training ----
/** One field of a recipe's advanced panel. */
export const ConfigField = z.object({
  /** A dotted path into the config, e.g. 'steps' or 'train.lr'. */
  key: z.string(),
  label: z.string(),
  type: z.enum(['int', 'number', 'string', 'boolean', 'enum']),
  help: z.string().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  options: z.array(z.string()).optional(),
  advanced: z.boolean(),
});
export const RecipeInfo = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  needsDataset: z.boolean(),
  needsBaseModel: z.boolean(),
  defaults: Json,
  fields: z.array(ConfigField),
});
export type RecipeInfo = z.infer<typeof RecipeInfo>;

export const Run = z.object({
  id: Id, kind: z.string(), recipe: z.string(), config: Json,
  status: z.enum(JOB_STATUSES), error: z.string().nullable(), modelId: Id.nullable(),
  jobId: Id.nullable(), createdAt: Time, updatedAt: Time,
  /** The newest logged step and its values (list view). */
  lastStep: Count.nullable(), lastMetrics: Metrics.nullable(),
});
export type Run = z.infer<typeof Run>;
export const MetricPoint = z.object({ step: Count, values: Metrics });
export const Checkpoint = z.object({ id: Id, step: Count, path: z.string(), bytes: Count, createdAt: Time });
export const Sample = z.object({
  id: Id, jobId: Id, step: Count, kind: z.enum(['text', 'image']),
  /** Text samples: the text; image samples: null (see url). */
  text: z.string().nullable(), url: z.string().nullable(), prompt: z.string().nullable(), createdAt: Time,
});
export type Sample = z.infer<typeof Sample>;

// ---- the method table ----
const m = <Q extends z.ZodType, S extends z.ZodType>(request: Q, response: S) => ({ request, response });

export const Api = {
  // app
  'app.health': m(Empty, Health),
  'app.info': m(Empty, AppInfo),
  // models and runtime
  'models.list': m(Empty, z.object({ models: z.array(Model) })),
  'models.get': m(ById, z.object({ model: Model, evaluations: z.array(Evaluation) })),
  /** Registers a model folder (with its tessera.json) found at `path`. */
  'models.import': m(z.object({ path: z.string().min(1, 'must not be empty'), name: z.string().min(1).optional() }).strict(), Model),
  'models.delete': m(ById, Deleted),
  'runtime.get': m(Empty, RuntimeSettings),
  /** Fails with ProviderUnavailableError naming the reason when the provider cannot run here. */
  'runtime.set': m(z.object({ provider: z.enum(PROVIDERS).optional(), threads: z.int().min(1).max(256).optional(), inferenceThreads: z.int().min(1).max(256).optional() }).strict(), RuntimeSettings),
  // chats
  'chats.list': m(Empty, z.object({ chats: z.array(Chat) })),
  'chats.create': m(z.object({ title: z.string().default('New chat'), modelId: Id.optional() }).strict(), Chat),
  'chats.rename': m(z.object({ id: Id, title: z.string() }).strict(), Chat),
  'chats.delete': m(ById, Deleted),
  'chats.get': m(ById, z.object({ chat: Chat, messages: z.array(Message) })),
  /** Stores the user message and starts the assistant's reply: events stream.* with the returned streamId. */
  'chats.send': m(z.object({
    chatId: Id,
    text: z.string(),
    attachments: z.array(ImageUpload).max(8, 'at most 8 images per message').default([]),
    sampling: TextSampling.optional(),
  }).strict(), z.object({ streamId: z.string(), userMessage: Message })),
  /** Drops the last assistant reply (or the one given and everything after it) and streams a new one. */
  'chats.regenerate': m(z.object({ chatId: Id, messageId: Id.optional(), sampling: TextSampling.optional() }).strict(), z.object({ streamId: z.string() })),
  /** Stops a chat or generate stream; what was produced so far is kept. */
  'streams.stop': m(z.object({ streamId: z.string().min(1) }).strict(), z.object({ stopped: z.boolean() })),
  // generate and gallery
  /** Starts a generate job; images arrive as stream.* events, then land in the gallery. */
  'generate.start': m(GenerateRequest, z.object({ streamId: z.string(), jobId: Id, seed: z.int() })),
  'gallery.list': m(z.object({ modelId: Id.optional(), beforeId: Id.optional(), limit: z.int().min(1).max(500).default(100) }).strict(),
    z.object({ generations: z.array(Generation), nextBeforeId: Id.nullable() })),
  'gallery.get': m(ById, Generation),
  'gallery.delete': m(ById, Deleted),
  // datasets
  'datasets.list': m(Empty, z.object({ datasets: z.array(Dataset) })),
  'datasets.get': m(ById, z.object({ dataset: Dataset, tags: z.array(z.object({ tag: z.string(), count: Count })) })),
  /** Starts an import job (the dataset appears as soon as the job creates it). */
  'datasets.import': m(z.object({
    kind: z.enum(IMPORT_KINDS),
    /** The folder (imagefolder, folder, coco images root) or file (csv, coco json); ignored for 'emoji'. */
    path: z.string().default(''),
    name: z.string().min(1, 'must not be empty'),
  }).strict(), z.object({ job: Job })),
  'datasets.delete': m(ById, Deleted),
  'datasets.importErrors': m(z.object({ datasetId: Id }).strict(), z.object({ errors: z.array(z.object({ id: Id, path: z.string(), reason: z.string(), createdAt: Time })) })),
  'datasets.items': m(ItemsQuery, z.object({ items: z.array(Item), total: Count, nextAfterId: Id.nullable() })),
  'datasets.item': m(ById, z.object({ item: Item, captions: z.array(CaptionEntry), tags: z.array(z.string()) })),
  'datasets.editCaption': m(z.object({ itemId: Id, text: z.string() }).strict(), z.object({ item: Item, captions: z.array(CaptionEntry) })),
  'datasets.revertCaption': m(z.object({ captionId: Id }).strict(), z.object({ item: Item, captions: z.array(CaptionEntry) })),
  'datasets.addTag': m(z.object({ itemIds: z.array(Id).min(1).max(100_000), tag: z.string().min(1).max(200) }).strict(), z.object({ added: Count })),
  'datasets.removeTag': m(z.object({ itemId: Id, tag: z.string().min(1) }).strict(), z.object({ removed: z.boolean() })),
  /** Finds exact (content hash) and near (perceptual hash) duplicates and marks them. */
  'datasets.findDuplicates': m(z.object({ datasetId: Id, maxDistance: z.int().min(0).max(64).optional() }).strict(), z.object({ exact: Count, near: Count })),
  /** Groups of marked duplicates: the kept item and the items that duplicate it. */
  'datasets.duplicates': m(z.object({ datasetId: Id, limit: z.int().min(1).max(1000).default(200) }).strict(),
    z.object({ groups: z.array(z.object({ original: Item, duplicates: z.array(Item) })) })),
  /** Deletes items from the dataset (their files stay on disk). */
  'datasets.removeItems': m(z.object({ itemIds: z.array(Id).min(1).max(100_000) }).strict(), z.object({ removed: Count })),
  'datasets.assignSplits': m(z.object({ datasetId: Id, spec: SplitSpec }).strict(), z.object({ counts: z.record(z.enum([...SPLITS, 'none']), Count) })),
  'datasets.setSplit': m(z.object({ itemIds: z.array(Id).min(1).max(100_000), split: z.enum(SPLITS).nullable() }).strict(), z.object({ changed: Count })),
  'datasets.export': m(z.object({ datasetId: Id, outDir: z.string().min(1, 'must not be empty'), split: z.enum(SPLITS).optional() }).strict(),
    z.object({ dir: z.string(), written: Count })),
  /** Starts a tokenize job caching every 'ok' item's codes under the tokenizer of `modelId`. */
  'datasets.tokenize': m(z.object({ datasetId: Id, modelId: Id }).strict(), z.object({ job: Job })),
  'datasets.codebookUsage': m(z.object({ datasetId: Id, modelId: Id }).strict(), CodebookUsage),
  // training
  'training.recipes': m(Empty, z.object({ recipes: z.array(RecipeInfo) })),
  /** Queues a train job; `config` is merged over the recipe's defaults and validated by the recipe. */
  'training.start': m(z.object({
    recipe: z.string().min(1, 'must not be empty'),
    config: Json.default({}),
    datasetId: Id.optional(),
    baseModelId: Id.optional(),
  }).strict(), z.object({ job: Job, run: Run })),
  'runs.list': m(Empty, z.object({ runs: z.array(Run) })),
  'runs.get': m(ById, z.object({ run: Run, checkpoints: z.array(Checkpoint), evaluations: z.array(Evaluation), samples: z.array(Sample) })),
  /** The run's metric series; with sinceStep only the steps after it (live charts). */
  'runs.metrics': m(z.object({ id: Id, sinceStep: z.int().min(-1).optional() }).strict(), z.object({ points: z.array(MetricPoint) })),
  /**
   * Starts an evaluate job for a model (optionally tied to a run) on `limit` images of a dataset
   * split (spread evenly over it). Without datasetId: the dataset the run trained on. The numbers
   * land in evaluations (the job's result names the row): PSNR/SSIM/usage for an image tokenizer,
   * caption/question accuracy and losses for a unified model.
   */
  'runs.evaluate': m(z.object({
    modelId: Id, runId: Id.optional(), datasetId: Id.optional(), split: z.enum(SPLITS).default('test'),
    limit: z.int().min(1).max(100_000).default(64),
  }).strict(), z.object({ job: Job })),
  'evaluations.list': m(z.object({ modelId: Id.optional(), runId: Id.optional() }).strict(), z.object({ evaluations: z.array(Evaluation) })),
  // jobs (a run's pause/resume/cancel go through its job: run.jobId)
  'jobs.list': m(z.object({ kind: z.enum(JOB_KINDS).optional(), status: z.enum(JOB_STATUSES).optional() }).strict(), z.object({ jobs: z.array(Job) })),
  'jobs.get': m(ById, Job),
  /** Pause = stop after saving a checkpoint (train) — resume continues exactly from it. */
  'jobs.pause': m(ById, Job),
  /** A paused job goes back to the queue (it runs when the heavy slot is free). */
  'jobs.resume': m(ById, Job),
  'jobs.cancel': m(ById, Job),
} as const;

export type Api = typeof Api;
export type Method = keyof Api;
export const METHODS = Object.keys(Api) as Method[];
/** What a caller sends (defaults may be left out). */
export type Req<M extends Method> = z.input<Api[M]['request']>;
/** What a handler receives (defaults filled in). */
export type ParsedReq<M extends Method> = z.output<Api[M]['request']>;
export type Res<M extends Method> = z.output<Api[M]['response']>;

// ---- events (server → client) ----
const StreamImageBase = { streamId: z.string(), index: Count };
const StreamStats = z.object({ seconds: z.number().nonnegative(), threads: z.int().min(1), images: Count });
export const ApiEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), version: z.string(), apiVersion: z.int() }),
  z.object({ type: z.literal('job.state'), job: Job }),
  z.object({ type: z.literal('job.progress'), jobId: Id, runId: Id.nullable(), progress: Progress }),
  z.object({ type: z.literal('job.sample'), jobId: Id, runId: Id.nullable(), sample: Sample }),
  z.object({ type: z.literal('job.log'), jobId: Id, level: z.enum(['info', 'warn', 'error']), message: z.string(), time: Time }),
  z.object({ type: z.literal('job.error'), jobId: Id, error: ApiError }),
  z.object({ type: z.literal('dataset.changed'), datasetId: Id }),
  z.object({ type: z.literal('stream.text'), streamId: z.string(), delta: z.string() }),
  z.object({ type: z.literal('stream.image-start'), ...StreamImageBase, positions: Count }),
  /** A partial image as a PNG data URL (positions decoded so far drawn, the rest blank). */
  z.object({ type: z.literal('stream.image-progress'), ...StreamImageBase, done: Count, positions: Count, dataUrl: z.string() }),
  /** The finished image: a chat attachment or a gallery generation, served at `url`. */
  z.object({ type: z.literal('stream.image-done'), ...StreamImageBase, url: z.string(), generationId: Id.nullable(), attachmentId: Id.nullable() }),
  /** stats: the generation's own time (model loading excluded) and the threads it ran on. */
  z.object({ type: z.literal('stream.done'), streamId: z.string(), reason: z.enum(['eos', 'length', 'aborted']), message: Message.nullable(), generations: z.array(Generation), stats: StreamStats.nullable() }),
  z.object({ type: z.literal('stream.error'), streamId: z.string(), error: ApiError }),
]);
export type ApiEvent = z.infer<typeof ApiEvent>;
export type ApiEventType = ApiEvent['type'];
export type StreamStats = z.infer<typeof StreamStats>;

// ---- validation helpers (both transports use these) ----
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : `${out ? '.' : ''}${String(k)}`;
  return out || '(request)';
}

function errorFrom(method: string, error: z.ZodError): ValidationError {
  const issue = error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    const at = fieldPath(issue.path);
    return new ValidationError(method, at === '(request)' ? keys[0] : `${at}.${keys[0]}`, `unknown field (this method accepts no field named ${JSON.stringify(keys[0])})`);
  }
  return new ValidationError(method, fieldPath(issue.path), issue.message);
}

export const isMethod = (name: string): name is Method => Object.prototype.hasOwnProperty.call(Api, name);

/** Validates a request for `method`; throws ValidationError naming the first bad field. */
export function parseRequest<M extends Method>(method: M, body: unknown): ParsedReq<M> {
  const r = Api[method].request.safeParse(body ?? {});
  if (!r.success) throw errorFrom(method, r.error);
  return r.data as ParsedReq<M>;
}

/** Validates a handler's response (strips fields the contract does not name). */
export function parseResponse<M extends Method>(method: M, value: unknown): Res<M> {
  const r = Api[method].response.safeParse(value);
  if (!r.success) {
    const e = errorFrom(method, r.error);
    throw new Error(`internal error: the response of ${method} does not match the contract at ${e.field}: ${e.message}`);
  }
  return r.data as Res<M>;
}

/** Any thrown value as the `{name, message}` that crosses the boundary. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof Error) {
    const details = (e as { details?: unknown }).details;
    return details === undefined ? { name: e.name, message: e.message } : { name: e.name, message: e.message, details };
  }
  return { name: 'Error', message: String(e) };
}
