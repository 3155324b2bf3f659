// The spec's JSON Schema: served by GetSpecSchema and used by Init to validate. Every field the user
// can write is here, with its type, bounds and a description.
import type { JSONSchemaType } from 'ajv';
import type { Spec } from './spec.js';
import { csvSchema } from './spec-csv.js';
import { accessSchemaProperties } from './spec-access.js';
import { tablesSchemaProperties } from './spec-tables.js';
import { declaredSchemaProperties } from './spec-declared.js';

export type FileType = 'parquet' | 'csv' | 'tsv' | 'jsonl' | 'json' | 'avro' | 'auto';

export const specSchema: JSONSchemaType<Spec> = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'cq-source-s3 spec',
  type: 'object',
  additionalProperties: false,
  properties: {
    bucket: { type: 'string', nullable: true, minLength: 1, description: 'S3 bucket to read. Exactly one of bucket or local_path.' },
    local_path: {
      type: 'string',
      nullable: true,
      minLength: 1,
      description: 'A local directory read instead of a bucket (same discovery, naming and reading).',
    },
    region: { type: 'string', nullable: true, minLength: 1, description: 'AWS region of the bucket; asked of the bucket when left out.' },
    local_profile: { type: 'string', nullable: true, description: 'Named profile from the shared AWS config/credentials files.' },
    path_prefix: { type: 'string', nullable: true, description: 'Only keys starting with this prefix are read (ListObjectsV2 Prefix).' },
    filetype: {
      type: 'string',
      nullable: true,
      enum: ['parquet', 'csv', 'tsv', 'jsonl', 'ndjson', 'json', 'avro', 'auto'],
      description: "File format of the objects; auto takes each key's format from its extension.",
    },
    csv: csvSchema,
    schema_sample_rows: {
      type: 'integer',
      nullable: true,
      minimum: 1,
      maximum: 1_000_000,
      description: 'Rows of each CSV/TSV/JSON file read to infer its schema (default 1000).',
    },
    infer_types: { type: 'boolean', nullable: true, description: 'Infer column types of text formats; false makes every column utf8.' },
    ...tablesSchemaProperties,
    ...declaredSchemaProperties,
    ...accessSchemaProperties,
    schema_mode: {
      type: 'string',
      nullable: true,
      enum: ['merge', 'strict'],
      description: 'merge: files of a table merge their schemas; strict: a file unlike the first is skipped and reported.',
    },
    rows_per_record: {
      type: 'integer',
      nullable: true,
      minimum: 0,
      description: 'Rows per Arrow record sent to the destination (0 means the default, 500).',
    },
    concurrency: {
      type: 'integer',
      nullable: true,
      description: 'Files read at once across all tables (0 means the default, 50; negative means unlimited).',
    },
    endpoint: { type: 'string', nullable: true, description: 'Custom S3 endpoint URL (MinIO, Swift, LocalStack, ...).' },
    path_style: { type: 'boolean', nullable: true, description: 'Use path-style addressing (needed by most S3-compatible stores).' },
    access_key_id: {
      type: 'string',
      nullable: true,
      description: 'Static access key; otherwise the AWS default credential chain is used.',
    },
    secret_access_key: { type: 'string', nullable: true, description: 'Static secret key, required with access_key_id.' },
    session_token: { type: 'string', nullable: true, description: 'Session token for temporary static credentials.' },
    max_retries: {
      type: 'integer',
      nullable: true,
      minimum: 0,
      maximum: 20,
      description: 'Retries of a failed S3 request (throttling, 5xx, network), with backoff and jitter.',
    },
  },
  required: [],
};
