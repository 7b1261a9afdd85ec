"use client";
/**
 * One table for every list: @tanstack/react-table for the model (columns, client-side
 * sorting of the loaded rows), @tanstack/react-virtual for rendering, so 100,000 rows
 * scroll smoothly (only the visible rows exist in the DOM). Rows are focusable and open
 * with Enter, so the table works from the keyboard.
 */
import {
  columnSizingFeature,
  createSortedRowModel,
  rowSortingFeature,
  sortFn_alphanumeric,
  sortFn_text,
  tableFeatures,
  useTable,
  type ColumnDef,
  type RowData,
  type SortingState,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";

export const tableFeatureSet = tableFeatures({
  rowSortingFeature,
  sortedRowModel: createSortedRowModel(),
  sortFns: { alphanumeric: sortFn_alphanumeric, text: sortFn_text },
  columnSizingFeature,
});
export type TableFeatures = typeof tableFeatureSet;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Column<T extends RowData> = ColumnDef<TableFeatures, T, any>;

const EMPTY_SORT: SortingState = [];

export function DataTable<T extends RowData>({
  data,
  columns,
  rowId,
  height = 480,
  rowHeight = 34,
  onRowClick,
  rowHref,
  selectedId,
  rowClassName,
  onEndReached,
  footer,
  empty,
  label,
  testId,
}: {
  data: T[];
  columns: Column<T>[];
  rowId: (row: T, index: number) => string;
  height?: number;
  rowHeight?: number;
  onRowClick?: (row: T) => void;
  rowHref?: (row: T) => string;
  selectedId?: string | null;
  rowClassName?: (row: T) => string | undefined;
  onEndReached?: () => void;
  footer?: ReactNode;
  empty?: ReactNode;
  label: string;
  testId?: string;
}) {
  const [sorting, setSorting] = useState<SortingState>(EMPTY_SORT);
  const table = useTable({
    features: tableFeatureSet,
    columns,
    data,
    getRowId: (row: T, index: number) => rowId(row, index),
    state: { sorting },
    onSortingChange: setSorting,
    enableSortingRemoval: true,
  });
  const rows = table.getRowModel().rows;
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => rowHeight,
    getItemKey: (i) => rows[i]?.id ?? i,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.length ? items[items.length - 1].index : -1;
  useEffect(() => {
    if (onEndReached && rows.length > 0 && lastIndex >= rows.length - 20) onEndReached();
  }, [lastIndex, rows.length, onEndReached]);

  const headers = table.getHeaderGroups()[0]?.headers ?? [];
  // Columns shrink to 60 % of their size, then the table scrolls sideways instead of overflowing the page.
  const template = useMemo(() => headers.map((h) => `minmax(${Math.round(h.column.getSize() * 0.6)}px, ${h.column.getSize()}fr)`).join(" "), [headers]);
  const minWidth = useMemo(() => headers.reduce((n, h) => n + Math.round(h.column.getSize() * 0.6), 0) + 12 * Math.max(0, headers.length - 1) + 24, [headers]);

  return (
    <div className="dtable" role="table" aria-label={label} aria-rowcount={rows.length + 1} data-testid={testId}>
      <div className="dtable-scroll">
      <div style={{ minWidth }}>
      <div className="dtable-head" role="rowgroup">
        <div className="dtable-row dtable-header-row" role="row" style={{ gridTemplateColumns: template }}>
          {headers.map((h) => {
            const sort = h.column.getIsSorted();
            const canSort = h.column.getCanSort();
            return (
              <div key={h.id} role="columnheader" className="dtable-th" aria-sort={sort === "asc" ? "ascending" : sort === "desc" ? "descending" : "none"}>
                {canSort ? (
                  <button type="button" className="th-button" onClick={h.column.getToggleSortingHandler()}>
                    <table.FlexRender header={h} />
                    <span className="sort-ind" aria-hidden="true">
                      {sort === "asc" ? "▴" : sort === "desc" ? "▾" : ""}
                    </span>
                  </button>
                ) : (
                  <table.FlexRender header={h} />
                )}
              </div>
            );
          })}
        </div>
      </div>
      <div ref={scrollRef} className="dtable-body" role="rowgroup" style={{ height }} tabIndex={-1}>
        {rows.length === 0 ? (
          <div className="dtable-empty">{empty ?? <span className="muted">No rows</span>}</div>
        ) : (
          <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {items.map((item) => {
              const row = rows[item.index];
              const original = row.original;
              const interactive = !!(onRowClick || rowHref);
              const activate = () => {
                if (onRowClick) onRowClick(original);
                else if (rowHref) window.location.assign(rowHref(original));
              };
              return (
                <div
                  key={row.id}
                  role="row"
                  aria-rowindex={item.index + 2}
                  data-row-id={row.id}
                  className={`dtable-row${interactive ? " dtable-row-link" : ""}${selectedId === row.id ? " selected" : ""} ${rowClassName?.(original) ?? ""}`}
                  style={{ gridTemplateColumns: template, height: rowHeight, transform: `translateY(${item.start}px)` }}
                  tabIndex={interactive ? 0 : undefined}
                  onClick={interactive ? activate : undefined}
                  onKeyDown={
                    interactive
                      ? (e) => {
                          if (e.key === "Enter" && e.target === e.currentTarget) activate();
                        }
                      : undefined
                  }
                >
                  {row.getAllCells().map((cell) => (
                    <div key={cell.id} role="cell" className="dtable-td">
                      <table.FlexRender cell={cell} />
                    </div>
                  ))}
                </div>
              );
            })}
          </div>
        )}
      </div>
      </div>
      </div>
      {footer && <div className="dtable-foot">{footer}</div>}
    </div>
  );
}
