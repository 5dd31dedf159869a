"use client";
import { useState, type ReactNode } from "react";
import { BoardForm } from "../components/BoardForm.js";
import { ErrorNote } from "../components/ErrorNote.js";
import type { LakituFunctions } from "../functions.js";
import { usePages } from "../useBoard.js";
import { useCall } from "./useCall.js";

type Props = { functions: LakituFunctions; onOpen: (boardId: string) => void };

/** The boards to pick from (`listBoards`), and `New board` (`createBoard`). */
export function BoardPicker({ functions: f, onOpen }: Props): ReactNode {
  const [creating, setCreating] = useState(false);
  const { call, error, busy, clear } = useCall();
  const create = f.createBoard;
  return (
    <div className="lk-picker">
      <header className="lk-bar">
        <h1>Boards</h1>
        {create ? (
          <button type="button" onClick={() => setCreating((c) => !c)} aria-expanded={creating}>
            New board
          </button>
        ) : null}
      </header>
      {error !== undefined ? <ErrorNote error={error} onDismiss={clear} /> : null}
      {creating && create ? (
        <BoardForm
          busy={busy}
          onCancel={() => setCreating(false)}
          onSubmit={async (values) => {
            const r = await call(create, values);
            if (!r.ok) return;
            const boardId = boardIdOf(r.value);
            setCreating(false);
            if (boardId) onOpen(boardId);
          }}
        />
      ) : null}
      {f.listBoards ? <BoardList query={f.listBoards} onOpen={onOpen} /> : <p className="lk-empty">No board is open: pass a boardId (this app lists no boards).</p>}
    </div>
  );
}

function BoardList({ query, onOpen }: { query: NonNullable<LakituFunctions["listBoards"]>; onOpen: (boardId: string) => void }): ReactNode {
  const boards = usePages("listBoards", query, {}, { initialNumItems: 50 }, 200);
  if (boards.status === "LoadingFirstPage") return <p className="lk-muted">Loading boards…</p>;
  return (
    <>
      {boards.results.length === 0 ? <p className="lk-empty">No boards yet.</p> : null}
      <ul className="lk-board-list">
        {boards.results.map((b) => (
          <li key={b.boardId}>
            <button type="button" className="lk-board-link" onClick={() => onOpen(b.boardId)}>
              {b.name}
            </button>
            {b.description ? <span className="lk-muted">{` ${b.description}`}</span> : null}
          </li>
        ))}
      </ul>
      {boards.status === "CanLoadMore" ? (
        <button type="button" className="lk-secondary" onClick={() => boards.loadMore(50)}>
          More boards
        </button>
      ) : null}
    </>
  );
}

/** The new board's id from what the app's createBoard wrapper returned (the id, or `{ boardId }`). */
function boardIdOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  const id = (value as { boardId?: unknown } | null | undefined)?.boardId;
  return typeof id === "string" ? id : undefined;
}
