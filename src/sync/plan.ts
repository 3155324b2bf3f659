// Planning a sync, pure: from the selected tables and the incremental state, what to read per table
// and what else shapes each table's schema.
import type { PlanInput, SelectedTable } from '../catalog.js';
import { decodeMerged } from '../arrow/schema.js';
import { readTableState, selectNew, stateKeys, type ShardRef, type TableState } from '../state/cursors.js';
import type { SyncState } from '../state/state.js';

export interface ReadPlan {
  /** Per table: the objects to read (new since the last sync) and the schema's other sources. */
  inputs: PlanInput[];
  /** Each table's state as the last sync left it. */
  states: Map<string, TableState>;
}

export function planReads(tables: SelectedTable[], state: SyncState, stateId: string, shard?: ShardRef): ReadPlan {
  const states = new Map<string, TableState>();
  const inputs = tables.map((table) => {
    const tableState = readTableState((k) => state.get(k), stateKeys(stateId, table.name, shard));
    states.set(table.name, tableState);
    return planTable(table, tableState);
  });
  return { inputs, states };
}

function planTable(table: SelectedTable, state: TableState): PlanInput {
  const base = state.schema ? decodeMerged(state.schema) : undefined;
  const fresh = selectNew(table.objects, state);
  // With shards, the other shards' new files shape the schema too: every shard migrates alike.
  const owned = new Set(fresh);
  const schemaExtra = selectNew(table.all, state).filter((o) => !owned.has(o));
  // Nothing to read and no cached schema (a shard owning no file of the table, or state written by
  // the Go plugin): the first readable footer gives the schema, so migrate_table still goes out.
  const schemaOnly = !base && fresh.length === 0 ? table.all : [];
  return { name: table.name, objects: fresh, all: table.all, base, schemaExtra, schemaOnly };
}
