// The schema of the tenant's policy data, data.erp (policies/erp/**/data.yaml):
// the one source for schemas/policy-data.json (written by
// scripts/write-schemas.mjs, held equal to this file by a test) and for the check
// the toolchain runs before any policy loads (src/toolchain/policy-data-check.ts).
// Every object is closed (an unknown key is an error, so a misspelt key is never
// silently ignored) and every key the policy reads is typed. What a JSON Schema
// cannot say — a role naming an endpoint no business object declares, a group
// naming a job the catalogue lacks, an object's `scope` agreeing with its fields
// — the toolchain checks beside it (the descriptions say which).
import { Type, type Static, type TSchema, type TString } from '@sinclair/typebox'

const closed = { additionalProperties: false } as const

const Text = (description: string) => Type.String({ description })
const Names = (description: string) => Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, description })
const keyed = <T extends TSchema>(key: TString, value: T, description: string) =>
  Type.Record(key, value, { ...closed, description })

/** An ERP account name, a role, a group, an identity provider, a client id: any non-blank string. */
const Key = Type.String({ pattern: '^\\S(.*\\S)?$' })
/** Company and job codes are strings ("01", "23-410"); quote them in YAML. */
const Code = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$' })
/** "module/resource" as a REST path names it (/{env}/{module}-rest-api/rest/{version}/{resource}). */
export const ENDPOINT_PATTERN = '^[a-z][a-z0-9]{0,15}/[A-Za-z][A-Za-z0-9_]{0,63}$'
const Endpoint = Type.String({ pattern: ENDPOINT_PATTERN })
const Resource = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' })
const Field = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' })

export const ACTIONS = ['create', 'retrieve', 'update', 'delete'] as const
const Action = Type.Union(ACTIONS.map((a) => Type.Literal(a)))
const Actions = Type.Array(Action, { uniqueItems: true, description: 'actions: create (POST), retrieve (GET/HEAD), update (PUT/PATCH), delete (DELETE)' })

export const Account = Type.Object({
  kind: Type.Union([Type.Literal('service_account'), Type.Literal('user')], { description: 'service_account (an integration) or user (a person)' }),
  idps: Type.Array(Type.String({ minLength: 1 }), {
    uniqueItems: true,
    description: 'the identity providers that may authenticate as this account (issuer names in Verdict\'s configuration, `basic` for HTTP Basic); required, so no account accepts every provider by omission'
  }),
  name: Type.Optional(Text('display name')),
  description: Type.Optional(Text('what the account is for')),
  owner: Type.Optional(Text('who answers for it'))
}, closed)

export const Accounts = Type.Object({
  users: keyed(Key, Account, 'ERP users and service accounts, by account name (TENANT||USER)'),
  clients: keyed(Key, keyed(Key, Key, 'OAuth client id -> account name (must be a user that lists this identity provider in idps)'),
    'per identity provider: OAuth client ids of tokens that carry no ERP-user claim')
}, { ...closed, description: 'data.erp.accounts (policies/erp/accounts/data.yaml)' })

export const Role = Type.Object({
  description: Type.Optional(Text('what the role is for')),
  endpoints: keyed(Endpoint, Actions, 'endpoint "module/resource" (a declared business object) -> actions the role grants')
}, closed)

export const Api = Type.Object({
  roles: keyed(Key, Role, 'API roles by name'),
  assignments: keyed(Key, Names('defined role names'), 'account name (a user) -> the roles it holds'),
  bypass: keyed(Endpoint, Actions, 'API Program Security Bypass: endpoint (a declared business object) -> actions any known account may call without a role')
}, { ...closed, description: 'data.erp.api (policies/erp/api/data.yaml)' })

export const Company = Type.Object({
  name: Type.Optional(Text('company name')),
  description: Type.Optional(Text('notes'))
}, closed)

export const Job = Type.Object({
  name: Type.Optional(Text('job name')),
  status: Type.Optional(Text('job status (documentation)'))
}, closed)

export const Group = Type.Object({
  description: Type.Optional(Text('what the group holds')),
  all_jobs: Type.Optional(Type.Boolean({ description: 'true: every job of the company, including jobs created later (MASTER); give either this or jobs' })),
  jobs: Type.Optional(Type.Array(Code, { uniqueItems: true, description: 'job codes of the company (in the jobs catalogue); give either this or all_jobs: true' }))
}, closed)

export const Security = Type.Object({
  companies: keyed(Code, Company, 'companies by code'),
  jobs: keyed(Code, keyed(Code, Job, 'job code -> job'), 'job catalogue per company (a company in companies)'),
  groups: keyed(Code, keyed(Key, Group, 'job security group code -> group'), 'job security groups per company (a company in companies)'),
  access: keyed(Key, keyed(Code, Type.Object({ groups: Names('job security groups of that company') }, closed),
    'company (in companies) -> the account\'s groups there; no groups: company access without any job'),
  'company access and group membership per account (a user)')
}, { ...closed, description: 'data.erp.security (policies/erp/security/data.yaml)' })

export const OBJECT_SCOPES = ['all', 'company', 'job'] as const

export const BusinessObject = Type.Object({
  module: Type.String({ pattern: '^[a-z][a-z0-9]{0,15}$', description: 'the module of the REST path ({module}-rest-api)' }),
  description: Type.Optional(Text('what the object is')),
  scope: Type.Union(OBJECT_SCOPES.map((s) => Type.Literal(s)), {
    description: 'what decides which rows an account sees, said explicitly so a dropped field cannot widen it: ' +
      'all (no company or job key: every row), company (company_field only), job (company_field and job_field)'
  }),
  company_field: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$', description: 'the field holding the company code (scope company and job)' })),
  job_field: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$', description: 'the field holding the job code (scope job only)' })),
  rows_without_job: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('company')], {
    description: 'scope job only: a row with a blank job is covered by an all-jobs group only (none, the default) or by company access (company)'
  })),
  job_when: Type.Optional(Type.Object({
    field: Field,
    equals: Type.Union([Type.String(), Type.Number(), Type.Boolean()])
  }, { ...closed, description: 'scope job only: the job field applies only to rows whose `field` equals `equals`; other rows are in company scope' })),
  sql: Type.Optional(Type.Object({
    table: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.]{0,127}$' }),
    columns: keyed(Field, Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' }), 'field -> column; every field a row filter names (company, job, job_when field) needs one')
  }, { ...closed, description: 'table and column mapping for rendering row filters as SQL' }))
}, closed)

export const Objects = keyed(Resource, BusinessObject, 'data.erp.objects (policies/erp/objects/data.yaml): business objects by REST resource name')

export const PolicyData = Type.Object({
  accounts: Accounts,
  api: Api,
  security: Security,
  objects: Objects
}, {
  ...closed,
  $id: 'https://verdict.example/schemas/policy-data.json',
  title: 'Verdict policy data (data.erp)',
  description: 'The tenant data the Verdict policy reads. References between sections (roles, accounts, companies, groups, jobs, endpoints) and each object\'s scope are checked by the Verdict toolchain beside this schema.'
})

export type PolicyDataDocument = Static<typeof PolicyData>
