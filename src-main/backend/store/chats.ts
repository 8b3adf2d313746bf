// The assistant's conversations: chats, their ordered messages (ordinal 0, 1, 2, ... per chat) and
// image attachments. Appending a message with its attachments is one transaction and bumps the
// chat's updated_at; deleting a chat deletes its messages and attachments (cascade).
import { z } from 'zod';
import { Db, must, now } from './db.ts';
import { count, id, nonEmpty, parse, sha256Hex, StoreInputError } from './validate.ts';

export const MESSAGE_ROLES = ['system', 'user', 'assistant'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

export interface ChatRow {
  id: number;
  title: string;
  modelId: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface AttachmentRow {
  id: number;
  messageId: number;
  kind: 'image';
  path: string;
  sha256: string;
  width: number;
  height: number;
}

export interface MessageRow {
  id: number;
  chatId: number;
  ordinal: number;
  role: MessageRole;
  content: string;
  createdAt: number;
  attachments: AttachmentRow[];
  /** The labelled examples the answer leaned on (the model's example memory), with their shares; null: none. */
  memory: { answer: string; share: number }[] | null;
  /** Each drawing of the reply that was drawn by example: its index among the reply's images and the example; null: none. */
  drawnFrom: DrawnFrom[] | null;
}

export interface DrawnFrom {
  index: number;
  label: string;
  example: number;
  of: number;
}

const NewAttachment = z.object({ kind: z.literal('image').default('image'), path: nonEmpty, sha256: sha256Hex, width: count, height: count });
const MemoryShare = z.object({ answer: z.string(), share: z.number().min(0).max(1) }).strict();
const DrawnFromSchema = z.object({ index: count, label: z.string(), example: z.int().min(1), of: z.int().min(1) }).strict().refine((d) => d.example <= d.of, 'example must be at most of');
const NewMessage = z.object({ role: z.enum(MESSAGE_ROLES), content: z.string(), attachments: z.array(NewAttachment).default([]), memory: z.array(MemoryShare).nullish(), drawnFrom: z.array(DrawnFromSchema).nullish() });
export type NewMessage = z.input<typeof NewMessage>;
const NewChat = z.object({ title: z.string(), modelId: id.nullish() });

const CCOLS = `id, title, model_id AS modelId, created_at AS createdAt, updated_at AS updatedAt`;
const MCOLS = `id, chat_id AS chatId, ordinal, role, content, created_at AS createdAt, memory, drawn_from AS drawnFrom`;
type RawMessage = Omit<MessageRow, 'attachments' | 'memory' | 'drawnFrom'> & { memory: string | null; drawnFrom: string | null };
const withMemory = (m: RawMessage): Omit<MessageRow, 'attachments'> => ({
  ...m,
  memory: m.memory === null ? null : (JSON.parse(m.memory) as MessageRow['memory']),
  drawnFrom: m.drawnFrom === null ? null : (JSON.parse(m.drawnFrom) as DrawnFrom[]),
});
const ACOLS = `id, message_id AS messageId, kind, path, sha256, width, height`;

export class ChatsRepo {
  constructor(private readonly db: Db) {}

  create(input: { title: string; modelId?: number | null }): ChatRow {
    const c = parse('chats.create', '', NewChat, input);
    const t = now();
    const r = this.db.stmt(`INSERT INTO chats (title, model_id, created_at, updated_at) VALUES (?, ?, ?, ?)`).run(c.title, c.modelId ?? null, t, t);
    return this.get(Number(r.lastInsertRowid));
  }

  get(chatId: number): ChatRow {
    return must(this.db.stmt(`SELECT ${CCOLS} FROM chats WHERE id = ?`).get(chatId), 'chat', chatId) as ChatRow;
  }

  /** Most recently active first. */
  list(): ChatRow[] {
    return this.db.stmt(`SELECT ${CCOLS} FROM chats ORDER BY updated_at DESC, id DESC`).all() as ChatRow[];
  }

  rename(chatId: number, title: string): ChatRow {
    parse('chats.rename', 'title', z.string(), title);
    this.get(chatId);
    this.db.stmt(`UPDATE chats SET title = ?, updated_at = ? WHERE id = ?`).run(title, now(), chatId);
    return this.get(chatId);
  }

  delete(chatId: number): boolean {
    return this.db.stmt(`DELETE FROM chats WHERE id = ?`).run(chatId).changes > 0;
  }

  /** Appends a message (next ordinal) with its attachments, in one transaction. */
  append(chatId: number, input: NewMessage): MessageRow {
    const op = 'chats.append';
    const m = parse(op, '', NewMessage, input);
    return this.db.tx(() => {
      if (!this.db.stmt(`SELECT 1 FROM chats WHERE id = ?`).get(chatId)) throw new StoreInputError(op, 'chatId', `chat ${chatId} does not exist`);
      const t = now();
      const next = (this.db.stmt(`SELECT coalesce(max(ordinal) + 1, 0) AS n FROM messages WHERE chat_id = ?`).get(chatId) as { n: number }).n;
      const r = this.db.stmt(`INSERT INTO messages (chat_id, ordinal, role, content, created_at, memory, drawn_from) VALUES (?, ?, ?, ?, ?, ?, ?)`)
        .run(chatId, next, m.role, m.content, t, m.memory ? JSON.stringify(m.memory) : null, m.drawnFrom?.length ? JSON.stringify(m.drawnFrom) : null);
      const messageId = Number(r.lastInsertRowid);
      const att = this.db.stmt(`INSERT INTO attachments (message_id, kind, path, sha256, width, height) VALUES (?, ?, ?, ?, ?, ?)`);
      for (const a of m.attachments) att.run(messageId, a.kind, a.path, a.sha256, a.width, a.height);
      this.db.stmt(`UPDATE chats SET updated_at = ? WHERE id = ?`).run(t, chatId);
      return this.message(messageId);
    });
  }

  message(messageId: number): MessageRow {
    const m = withMemory(must(this.db.stmt(`SELECT ${MCOLS} FROM messages WHERE id = ?`).get(messageId), 'message', messageId) as RawMessage);
    return { ...m, attachments: this.db.stmt(`SELECT ${ACOLS} FROM attachments WHERE message_id = ? ORDER BY id`).all(messageId) as AttachmentRow[] };
  }

  /** One attachment by id (the file server looks images up by it). */
  attachment(attachmentId: number): AttachmentRow {
    return must(this.db.stmt(`SELECT ${ACOLS} FROM attachments WHERE id = ?`).get(attachmentId), 'attachment', attachmentId) as AttachmentRow;
  }

  /** The chat's messages in order, each with its attachments. */
  messages(chatId: number): MessageRow[] {
    const msgs = (this.db.stmt(`SELECT ${MCOLS} FROM messages WHERE chat_id = ? ORDER BY ordinal`).all(chatId) as RawMessage[]).map(withMemory);
    const atts = this.db.stmt(`SELECT ${ACOLS.split(', ').map((c) => `a.${c}`).join(', ')} FROM attachments a JOIN messages m ON m.id = a.message_id
      WHERE m.chat_id = ? ORDER BY a.id`).all(chatId) as AttachmentRow[];
    const by = new Map<number, AttachmentRow[]>();
    for (const a of atts) by.set(a.messageId, [...(by.get(a.messageId) ?? []), a]);
    return msgs.map((m) => ({ ...m, attachments: by.get(m.id) ?? [] }));
  }

  /** Deletes the message and every later one of its chat (regenerate from here); returns how many. */
  truncateFrom(messageId: number): number {
    const m = this.message(messageId);
    return this.db.stmt(`DELETE FROM messages WHERE chat_id = ? AND ordinal >= ?`).run(m.chatId, m.ordinal).changes;
  }
}
