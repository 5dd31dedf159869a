/**
 * Convex-style pages for every list: `paginationOpts` in, `PaginationResult` out. Lists page through an
 * index with convex-helpers' `paginator` (the built-in `.paginate()` cannot be used inside a
 * component), so cursors are index keys and `endCursor` works for `usePaginatedQuery`'s page splits.
 *
 * A page is bounded by bytes as well as by count: it stops early once the documents it read pass
 * PAGE_BYTE_BUDGET, and says so with `pageStatus: "SplitRequired"`. Reading is the bound that matters —
 * a card document can approach Convex's 1 MiB document limit, and a query may read 16 MiB (8 MiB
 * self-hosted) — and what a page returns is a projection of what it read, so the same 4 MiB keeps the
 * return value far below the 16 MiB limit too. A single document larger than the budget still makes a
 * page of one, so every page makes progress.
 */
import { paginationResultValidator, type PaginationOptions } from "convex/server";
import type { Validator } from "convex/values";
import { fail } from "../shared/errors.js";

/** Bytes of documents one page may read before it stops early (Convex's read limit is 16 MiB, 8 self-hosted). */
export const PAGE_BYTE_BUDGET = 4 * 1024 * 1024;
/** Rows one page may read, whatever `numItems` or `endCursor` ask for. */
export const PAGE_ROWS_READ_LIMIT = 1_000;

/** `returns` of a list query: a page of `item`. */
export function vPage<T extends Validator<any, "required", any>>(item: T) {
  return paginationResultValidator(item);
}

/**
 * The options to pass to `paginator(...).paginate`: `numItems` checked against `maxItems`, cursors
 * checked to be ones a list returned, reads bounded by PAGE_BYTE_BUDGET and PAGE_ROWS_READ_LIMIT.
 */
export function pageOptions(opts: PaginationOptions, maxItems: number): PaginationOptions & { endCursor?: string | null; maximumRowsRead: number; maximumBytesRead: number } {
  const n = checkNumItems(opts, maxItems);
  checkCursor("paginationOpts.cursor", opts.cursor);
  checkCursor("paginationOpts.endCursor", opts.endCursor ?? null);
  return {
    numItems: n,
    cursor: opts.cursor,
    ...(opts.endCursor ? { endCursor: opts.endCursor } : {}),
    maximumRowsRead: Math.min(opts.maximumRowsRead ?? PAGE_ROWS_READ_LIMIT, PAGE_ROWS_READ_LIMIT),
    maximumBytesRead: Math.min(opts.maximumBytesRead ?? PAGE_BYTE_BUDGET, PAGE_BYTE_BUDGET),
  };
}

/** `paginationOpts.numItems`, refused unless it is a whole number from 1 to `maxItems`. */
export function checkNumItems(opts: PaginationOptions, maxItems: number): number {
  const n = opts.numItems;
  if (!Number.isInteger(n) || n < 1 || n > maxItems) {
    fail("invalid_argument", `paginationOpts.numItems must be a whole number from 1 to ${maxItems}, got ${n}`);
  }
  return n;
}

function checkCursor(field: string, cursor: string | null): void {
  if (cursor === null) return;
  let ok = false;
  try {
    ok = cursor.length <= 8_192 && Array.isArray(JSON.parse(cursor));
  } catch {
    ok = false;
  }
  if (!ok) fail("invalid_argument", `${field} must be null (first page) or a continueCursor this list returned, got "${cursor.slice(0, 80)}"`);
}

/** A page with its items mapped (the cursors and split hints stay as they are). */
export function mapPage<T, U>(page: { page: T[]; isDone: boolean; continueCursor: string; splitCursor?: string | null; pageStatus?: "SplitRecommended" | "SplitRequired" | null }, f: (item: T) => U) {
  return {
    page: page.page.map(f),
    isDone: page.isDone,
    continueCursor: page.continueCursor,
    ...(page.splitCursor ? { splitCursor: page.splitCursor } : {}),
    ...(page.pageStatus ? { pageStatus: page.pageStatus } : {}),
  };
}

/** `text` cut to `max` characters (with an ellipsis), for list items that must stay small. */
export function excerpt(text: string | undefined, max = 500): string | undefined {
  if (text === undefined || text.length <= max) return text;
  return `${text.slice(0, max - 1)}…`;
}
