/**
 * Index lookups for the embedded deployment's databases.
 *
 * convex-test (0.0.60) answers every query by listing the ids of every document of the component, in
 * all tables, and testing each one: each query costs time in proportion to everything the component
 * has stored, so every function slows down as any table grows (event ingest fell from ~2,750 to ~1,450
 * events/s over a 10,000-event run). This keeps, for each database, the committed document ids per
 * table and, per schema index, the committed documents sorted by index key, and narrows what
 * convex-test looks at to candidates:
 * - a full table scan or search: the table's documents;
 * - an index range: the documents whose key lies between the range's bounds (`gt` taken as `gte`,
 *   `lt` as `lte`);
 * - always, every document written by a transaction still in progress (it may differ from its committed
 *   version).
 * convex-test still applies its own range test, filters, order and limits to the candidates, so the
 * answer is the one a scan gives as long as the candidates include every match; indexedDb.test.ts
 * checks that against convex-test's own scan on random writes and ranges.
 *
 * How it is reached: convex-test does not export its database class. The test's context object (which
 * holds each component's database) is captured while `t.run` enters it, and each database instance gets
 * its own `_iterateDocs`, `_resolveQuerySource` and `commit`. If convex-test's internals are not the
 * expected ones, nothing is changed and `indexDatabases` returns false.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { CommitTsPlaceholder, compareValues, jsonToConvex, type Value } from "convex/values";

type Doc = Record<string, unknown> & { _id: string };
type RangeFilter = { type: "Eq" | "Gt" | "Gte" | "Lt" | "Lte"; fieldPath: string; value: unknown };
type QuerySource = { type: "FullTableScan"; tableName: string } | { type: "IndexRange"; indexName: string; range: RangeFilter[] } | { type: "Search"; indexName: string };
type FakeDb = {
  _documents: Record<string, Doc>;
  _writes: Array<Record<string, Doc | null>>;
  _schema: { tables: Map<string, { indexes: Array<{ indexDescriptor: string; fields: string[] }> }> } | null;
  _iterateDocs(table: string, callback: (doc: Doc) => void): void;
  _resolveQuerySource(query: { source: QuerySource }): unknown;
  commit(commitTs?: unknown): void;
};
type Entry = { key: unknown[]; id: string };
type Index = { fields: string[]; entries: Entry[] };
/** What the query being resolved may match: its table and, for an index range, the index and bounds. */
type Hint = { table: string; index?: Index; lower: unknown[]; upper: unknown[] };

/** Patches every database of convex-test instance `t` (call after registering the child components). */
export async function indexDatabases(t: { run: (f: (ctx: unknown) => Promise<unknown>) => Promise<unknown> }): Promise<boolean> {
  const convex = await captureContext(t);
  const dbs = Object.values(convex?.components ?? {}).map((c) => c.db);
  if (dbs.length === 0 || !dbs.every(looksLikeFakeDb)) return false;
  for (const db of dbs) indexDatabase(db as FakeDb);
  return true;
}

/** convex-test's per-instance context (its databases, transaction manager, syscalls), caught while `t.run` enters it. */
export async function captureContext(t: { run: (f: (ctx: unknown) => Promise<unknown>) => Promise<unknown> }) {
  type Context = { components: Record<string, { db: unknown }>; transactionManager: unknown; jsSyscall?: unknown };
  const original = AsyncLocalStorage.prototype.run;
  let found: Context | undefined;
  AsyncLocalStorage.prototype.run = function (this: AsyncLocalStorage<unknown>, store: unknown, ...rest: unknown[]) {
    const s = store as Partial<Context> | null;
    if (!found && s && typeof s === "object" && typeof s.components === "object" && s.transactionManager) found = s as Context;
    return (original as (...a: unknown[]) => unknown).apply(this, [store, ...rest]);
  } as typeof original;
  try {
    await t.run(async () => null);
  } finally {
    AsyncLocalStorage.prototype.run = original;
  }
  return found;
}

function looksLikeFakeDb(db: unknown): boolean {
  const d = db as Partial<FakeDb> | null;
  return !!d && typeof d._documents === "object" && Array.isArray(d._writes) && typeof d._iterateDocs === "function" && typeof d._resolveQuerySource === "function" && typeof d.commit === "function";
}

function indexDatabase(db: FakeDb): void {
  const tables = new Map<string, Set<string>>();
  const indexes = new Map<string, Index>();
  /** Documents whose key cannot be ordered (an unresolved commit timestamp): always candidates. */
  const unordered = new Set<string>();
  for (const [table, def] of db._schema?.tables ?? []) {
    for (const ix of def.indexes) indexes.set(`${table}.${ix.indexDescriptor}`, { fields: [...ix.fields, "_creationTime", "_id"], entries: [] });
  }
  const byTable = new Map<string, Index[]>();
  for (const [name, ix] of indexes) {
    const table = name.split(".")[0];
    byTable.set(table, [...(byTable.get(table) ?? []), ix]);
  }
  const indexesOf = (table: string) => byTable.get(table) ?? [];
  const add = (doc: Doc) => {
    const table = tableOf(doc._id);
    let ids = tables.get(table);
    if (!ids) tables.set(table, (ids = new Set()));
    ids.add(doc._id);
    for (const ix of indexesOf(table)) {
      const key = ix.fields.map((f) => field(doc, f));
      if (key.some(isPending)) unordered.add(doc._id);
      else {
        // Most writes come in key order (ids and creation times grow): append without a search.
        const last = ix.entries[ix.entries.length - 1];
        if (!last || comparePrefix(last.key, key, key.length) <= 0) ix.entries.push({ key, id: doc._id });
        else ix.entries.splice(lowerBound(ix.entries, key, key.length), 0, { key, id: doc._id });
      }
    }
  };
  const remove = (doc: Doc) => {
    const table = tableOf(doc._id);
    tables.get(table)?.delete(doc._id);
    unordered.delete(doc._id);
    for (const ix of indexesOf(table)) {
      const key = ix.fields.map((f) => field(doc, f));
      const at = lowerBound(ix.entries, key, key.length);
      if (ix.entries[at]?.id === doc._id) ix.entries.splice(at, 1);
      else {
        const i = ix.entries.findIndex((e) => e.id === doc._id);
        if (i >= 0) ix.entries.splice(i, 1);
      }
    }
  };
  for (const doc of Object.values(db._documents)) add(doc);

  let hint: Hint | null = null;
  const resolve = db._resolveQuerySource.bind(db);
  db._resolveQuerySource = (query) => {
    hint = hintFor(query.source, indexes);
    try {
      return resolve(query);
    } finally {
      hint = null;
    }
  };

  db._iterateDocs = (table, callback) => {
    const h = hint;
    hint = null;
    const ids = new Set<string>();
    if (h?.index && h.table === table) {
      const { entries } = h.index;
      const end = upperBound(entries, h.upper, h.upper.length);
      for (let i = lowerBound(entries, h.lower, h.lower.length); i < end; i++) ids.add(entries[i].id);
      for (const id of unordered) if (tableOf(id) === table) ids.add(id);
    } else {
      for (const id of tables.get(table) ?? []) ids.add(id);
    }
    for (const layer of db._writes) for (const id of Object.keys(layer)) if (tableOf(id) === table) ids.add(id);
    for (const id of ids) {
      const doc = (db as unknown as { get(table: string, id: string): Doc | null }).get(table, id);
      if (doc !== null) callback(doc);
    }
  };

  const commit = db.commit.bind(db);
  db.commit = (commitTs) => {
    const topLevel = db._writes.length === 1;
    const written = topLevel ? Object.keys(db._writes[0]) : [];
    const before = written.map((id) => db._documents[id]);
    commit(commitTs);
    written.forEach((id, i) => {
      if (before[i]) remove(before[i]);
      const now = db._documents[id];
      if (now) add(now);
    });
  };
}

/**
 * The bounds of an index range: `eq` on the index's leading fields, then at most one lower and one upper
 * bound on the next field (the only shape convex-test accepts). Anything else narrows to the table.
 */
function hintFor(source: QuerySource, indexes: Map<string, Index>): Hint | null {
  if (source.type !== "IndexRange") return null;
  const table = source.indexName.split(".")[0];
  const whole: Hint = { table, lower: [], upper: [] };
  const index = indexes.get(source.indexName);
  if (!index) return whole;
  const lower: unknown[] = [];
  const upper: unknown[] = [];
  let eqs = 0;
  let bounded: string | undefined;
  for (const f of source.range) {
    const value = boundValue(f.value);
    if (value === NOT_ORDERED) return whole;
    if (f.type === "Eq") {
      if (bounded !== undefined || f.fieldPath !== index.fields[eqs]) return whole;
      eqs++;
      lower.push(value);
      upper.push(value);
      continue;
    }
    if (f.fieldPath !== index.fields[eqs] || (bounded !== undefined && bounded !== f.fieldPath)) return whole;
    bounded = f.fieldPath;
    const side = f.type === "Gt" || f.type === "Gte" ? lower : upper;
    if (side.length > eqs) return whole;
    side.push(value);
  }
  return { table, index, lower, upper };
}

const NOT_ORDERED = Symbol("not ordered");

/** A query bound as convex-test evaluates it (JSON to Convex value; `$undefined` is undefined). */
function boundValue(json: unknown): unknown {
  if (typeof json === "object" && json !== null && "$undefined" in json) return undefined;
  try {
    const v = jsonToConvex(json as never);
    return isPending(v) ? NOT_ORDERED : v;
  } catch {
    return NOT_ORDERED;
  }
}

function isPending(v: unknown): boolean {
  if (v instanceof CommitTsPlaceholder) return true;
  if (Array.isArray(v)) return v.some(isPending);
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v).some(isPending);
  return false;
}

/** The value at a dotted field path, as convex-test reads it (undefined through anything but a plain object). */
function field(doc: Doc, path: string): unknown {
  let v: unknown = doc;
  for (const p of path.split(".")) {
    v = v !== null && typeof v === "object" && !Array.isArray(v) && isPlain(v) ? (v as Record<string, unknown>)[p] : undefined;
  }
  return v;
}
function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype || proto?.constructor?.name === "Object";
}

/** convex-test's ids are `<counter><table>`. */
function tableOf(id: string): string {
  let i = 0;
  while (i < id.length && id.charCodeAt(i) >= 48 && id.charCodeAt(i) <= 57) i++;
  return id.slice(i);
}

/** Compares the first `n` values of `key` with `bound`. */
function comparePrefix(key: unknown[], bound: unknown[], n: number): number {
  for (let i = 0; i < n; i++) {
    const c = compareValues(key[i] as Value, bound[i] as Value);
    if (c !== 0) return c;
  }
  return 0;
}
/** The first entry whose key prefix is not below `bound`. */
function lowerBound(entries: Entry[], bound: unknown[], n: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (comparePrefix(entries[mid].key, bound, n) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
/** The first entry whose key prefix is above `bound`. */
function upperBound(entries: Entry[], bound: unknown[], n: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (comparePrefix(entries[mid].key, bound, n) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
