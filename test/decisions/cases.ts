// The decision table's cases: real callers (test/helpers/callers.ts) against the
// example policies, with the status, reasons, principal and rows each must get.
// test/decisions/decision-table.test.ts asks them of POST /v1/decide;
// test/review/explain.test.ts holds explain's verdict equal to it on each.
import type { CallerName } from '../helpers/callers.js'

// UCAST builders for the expected filters
const eq = (field: string, value: unknown): object => ({ type: 'field', field, operator: 'eq', value })
const ne = (field: string, value: unknown): object => ({ type: 'field', field, operator: 'ne', value })
const isIn = (field: string, value: string[]): object => ({ type: 'field', field, operator: 'in', value })
const and = (...value: object[]): object => ({ type: 'compound', operator: 'and', value })
const or = (...value: object[]): object => ({ type: 'compound', operator: 'or', value })

const POWERBI_01 = ['23-410', '23-415', '23-502', '24-118'] // HEALTHCARE + COMMERCIAL
const POWERBI_02 = ['23-812', '24-820'] // WATER
const PROCORE_01 = ['23-410', '23-502', '24-205'] // PROCORE_SYNC
const JSMITH_01 = ['23-410', '23-415'] // HEALTHCARE

export interface Case {
  caller: CallerName
  method: string
  /** module/resource[/id] */
  endpoint: string
  resource?: Record<string, unknown>
  /** 200, 401 or 403 */
  status: 200 | 401 | 403
  /** layer:code of every reason, in order */
  reasons: string[]
  principal?: { id: string, kind: string, idp: string } | null
  rows?: 'all' | 'none' | object
}

const PAYROLL = { id: 'ACME||SVC_PAYROLL', kind: 'service_account', idp: 'basic' }
const POWERBI = { id: 'ACME||SVC_POWERBI', kind: 'service_account', idp: 'entra' }
const PROCORE = { id: 'ACME||SVC_PROCORE', kind: 'service_account', idp: 'local' }
const JSMITH = { id: 'ACME||JSMITH', kind: 'user', idp: 'local' }
const GRANTS = 'api:role_grants_action'
const NOT_GRANTED = 'api:action_not_granted'

export const cases: Case[] = [
  // PM_SYNC — the Procore-style sync, OAuth client mapped to its account in data
  { caller: 'procore (local)', method: 'GET', endpoint: 'jc/jcjob', status: 200, principal: PROCORE, reasons: [GRANTS, 'application:rows_filtered'], rows: and(eq('JobCompCode', '01'), isIn('JobCode', PROCORE_01)) },
  // A record's rows: its company's condition with its own job, not the account's whole filter.
  { caller: 'procore (local)', method: 'GET', endpoint: 'jc/jcjob/23-410', resource: { company: '01', job: '23-410' }, status: 200, reasons: [GRANTS, 'application:job_in_group'], rows: and(eq('JobCompCode', '01'), isIn('JobCode', ['23-410'])) },
  { caller: 'procore (local)', method: 'GET', endpoint: 'jc/jcjob/24-101', resource: { company: '01', job: '24-101' }, status: 403, reasons: [GRANTS, 'application:job_not_in_groups'], rows: 'none' },
  { caller: 'procore (local)', method: 'GET', endpoint: 'jc/jcjob/23-801', resource: { company: '02', job: '23-801' }, status: 403, reasons: [GRANTS, 'application:company_not_accessible'] },
  { caller: 'procore (local)', method: 'POST', endpoint: 'jc/jcjob', resource: { company: '01', job: '23-410' }, status: 403, reasons: [NOT_GRANTED], rows: 'none' },
  { caller: 'procore (local)', method: 'POST', endpoint: 'pm/scmast', resource: { ScmstCompCode: '01', ScmstJobCode: '23-502' }, status: 200, reasons: [GRANTS, 'application:job_in_group'] },
  { caller: 'procore (local)', method: 'PUT', endpoint: 'cm/cmmast/CO-17', resource: { CmmCompCode: '01', CmmJobCode: '24-205' }, status: 200, reasons: [GRANTS, 'application:job_in_group'] },
  { caller: 'procore (local)', method: 'PATCH', endpoint: 'pm/scmast/SC-9', resource: { company: '01', job: '24-118' }, status: 403, reasons: [GRANTS, 'application:job_not_in_groups'] },
  { caller: 'procore (local)', method: 'DELETE', endpoint: 'pm/scmast/SC-9', resource: { company: '01', job: '23-410' }, status: 403, reasons: [NOT_GRANTED] },
  { caller: 'procore (local)', method: 'POST', endpoint: 'pm/scmast', status: 403, reasons: [GRANTS, 'application:resource_required'] },
  { caller: 'procore (local)', method: 'GET', endpoint: 'ap/apvoucher', status: 403, reasons: [NOT_GRANTED] },

  // PAYROLL_IMPORT — Basic, MASTER in both companies: company conditions, not job lists
  { caller: 'payroll (basic)', method: 'GET', endpoint: 'hcm/pyemptimesheet', status: 200, principal: PAYROLL, reasons: [GRANTS, 'application:rows_filtered'], rows: or(eq('TshCompCode', '01'), eq('TshCompCode', '02')) },
  { caller: 'payroll (basic)', method: 'POST', endpoint: 'hcm/pyemptimesheet', resource: { company: '02', job: '23-812' }, status: 200, reasons: [GRANTS, 'application:job_in_group'] },
  { caller: 'payroll (basic)', method: 'PUT', endpoint: 'hcm/pyemptimesheet/88', resource: { TshCompCode: '01', TshTypeCode: 'G' }, status: 200, reasons: [GRANTS, 'application:job_in_group'] }, // MASTER covers every row of the company
  { caller: 'payroll (basic)', method: 'DELETE', endpoint: 'hcm/pyemptimesheet/88', resource: { company: '01' }, status: 403, reasons: [NOT_GRANTED] },
  { caller: 'payroll (basic)', method: 'GET', endpoint: 'hcm/pyemployee', status: 200, reasons: [GRANTS, 'application:rows_filtered'], rows: or(eq('EmpCompCode', '01'), eq('EmpCompCode', '02')) },
  { caller: 'payroll (basic)', method: 'HEAD', endpoint: 'hcm/pyemployee/1001', resource: { company: '02' }, status: 200, reasons: [GRANTS, 'application:company_accessible'] },
  { caller: 'payroll (basic)', method: 'POST', endpoint: 'hcm/pyemployee', resource: { company: '01' }, status: 403, reasons: [NOT_GRANTED] },
  { caller: 'payroll (basic)', method: 'GET', endpoint: 'jc/jcjob', status: 403, reasons: [NOT_GRANTED] },

  // BI_READER — Entra app token mapped by client id; reads visibly filtered
  { caller: 'power bi (entra)', method: 'GET', endpoint: 'pm/scmast', status: 200, principal: POWERBI, reasons: [GRANTS, 'application:rows_filtered'], rows: or(and(eq('ScmstCompCode', '01'), isIn('ScmstJobCode', POWERBI_01)), and(eq('ScmstCompCode', '02'), isIn('ScmstJobCode', POWERBI_02))) },
  { caller: 'power bi (entra)', method: 'GET', endpoint: 'jc/jcjobcategory', status: 200, reasons: [GRANTS, 'application:rows_filtered'], rows: or(and(eq('JcatCompCode', '01'), isIn('JcatJobCode', POWERBI_01)), and(eq('JcatCompCode', '02'), isIn('JcatJobCode', POWERBI_02))) },
  {
    caller: 'power bi (entra)',
    method: 'GET',
    endpoint: 'ap/apvoucher',
    status: 200,
    reasons: [GRANTS, 'application:rows_filtered'],
    rows: or(
      and(eq('VouCompCode', '01'), or(isIn('VouJobCode', POWERBI_01), eq('VouJobCode', null), eq('VouJobCode', ''))),
      and(eq('VouCompCode', '02'), or(isIn('VouJobCode', POWERBI_02), eq('VouJobCode', null), eq('VouJobCode', ''))))
  },
  {
    caller: 'power bi (entra)',
    method: 'GET',
    endpoint: 'hcm/pyemptimesheet',
    status: 200,
    reasons: [GRANTS, 'application:rows_filtered'],
    rows: or(
      and(eq('TshCompCode', '01'), or(isIn('TshJobdeptwoId', POWERBI_01), ne('TshTypeCode', 'J'))),
      and(eq('TshCompCode', '02'), or(isIn('TshJobdeptwoId', POWERBI_02), ne('TshTypeCode', 'J'))))
  },
  { caller: 'power bi (entra)', method: 'GET', endpoint: 'ap/apvendor', status: 200, reasons: [GRANTS, 'application:object_unrestricted'], rows: 'all' },
  { caller: 'power bi (entra)', method: 'GET', endpoint: 'jc/jcjob/24-101', resource: { company: '01', job: '24-101' }, status: 403, reasons: [GRANTS, 'application:job_not_in_groups'] },
  { caller: 'power bi (entra)', method: 'GET', endpoint: 'jc/jcjob/23-812', resource: { company: '02', job: '23-812' }, status: 200, reasons: [GRANTS, 'application:job_in_group'] },
  { caller: 'power bi (entra)', method: 'GET', endpoint: 'ap/apvoucher/V-1', resource: { VouCompCode: '01', VouJobCode: '' }, status: 200, reasons: [GRANTS, 'application:job_blank_company_scope'] },
  { caller: 'power bi (entra)', method: 'GET', endpoint: 'hcm/pyemptimesheet/5', resource: { TshCompCode: '02', TshTypeCode: 'G' }, status: 200, reasons: [GRANTS, 'application:row_not_job_scoped'] },
  { caller: 'power bi (entra)', method: 'GET', endpoint: 'hcm/pyemptimesheet/6', resource: { TshCompCode: '02', TshTypeCode: 'J', TshJobdeptwoId: '23-801' }, status: 403, reasons: [GRANTS, 'application:job_not_in_groups'] },
  { caller: 'power bi (entra)', method: 'POST', endpoint: 'jc/jcjob', resource: { company: '01', job: '23-410' }, status: 403, reasons: [NOT_GRANTED] },
  { caller: 'power bi (entra)', method: 'GET', endpoint: 'hcm/pyemployee', status: 403, reasons: [NOT_GRANTED] },

  // HR_WRITER — may create employees but not read them back (CMiC's own example)
  { caller: 'hr writer (basic)', method: 'POST', endpoint: 'hcm/pyemployee', resource: { company: '01' }, status: 200, reasons: [GRANTS, 'application:company_accessible'] },
  { caller: 'hr writer (basic)', method: 'POST', endpoint: 'hcm/pyemployee', resource: { EmpCompCode: '02' }, status: 200, reasons: [GRANTS, 'application:company_accessible'] },
  { caller: 'hr writer (basic)', method: 'POST', endpoint: 'hcm/pyemployee', resource: { company: '03' }, status: 403, reasons: [GRANTS, 'application:company_not_accessible'] },
  { caller: 'hr writer (basic)', method: 'GET', endpoint: 'hcm/pyemployee', status: 403, reasons: [NOT_GRANTED], rows: 'none' },
  { caller: 'hr writer (basic)', method: 'GET', endpoint: 'hcm/pyemployee/1001', resource: { company: '01' }, status: 403, reasons: [NOT_GRANTED] },
  { caller: 'hr writer (basic)', method: 'PUT', endpoint: 'hcm/pyemployee/1001', resource: { company: '01' }, status: 403, reasons: [NOT_GRANTED] },

  // No API role — the retired bridge may call only the bypass list
  { caller: 'legacy ftp (basic)', method: 'GET', endpoint: 'jc/jcjob', status: 403, reasons: ['api:no_api_role'] },
  { caller: 'legacy ftp (basic)', method: 'GET', endpoint: 'sys/currency', status: 200, reasons: ['api:bypass', 'application:object_unrestricted'], rows: 'all' },
  { caller: 'legacy ftp (basic)', method: 'POST', endpoint: 'sys/currency', status: 403, reasons: ['api:no_api_role'] },

  // SECURITY_ADMIN — an ERP user over OAuth, named by the cmicuser claim
  { caller: 'security admin (local)', method: 'POST', endpoint: 'sys/jcjobsecgrpuser', resource: { JsgCompCode: '02' }, status: 200, reasons: [GRANTS, 'application:company_accessible'] },
  { caller: 'security admin (local)', method: 'DELETE', endpoint: 'sys/jcjobsecgrpuser/7', resource: { company: '01' }, status: 200, reasons: [GRANTS, 'application:company_accessible'] },
  { caller: 'security admin (local)', method: 'GET', endpoint: 'sys/jcjobsecgrpuser', status: 200, reasons: [GRANTS, 'application:rows_filtered'], rows: or(eq('JsgCompCode', '01'), eq('JsgCompCode', '02')) },
  { caller: 'security admin (local)', method: 'GET', endpoint: 'jc/jcjob', status: 200, reasons: [GRANTS, 'application:rows_filtered'], rows: or(eq('JobCompCode', '01'), eq('JobCompCode', '02')) },
  { caller: 'security admin (local)', method: 'GET', endpoint: 'pm/scmast', status: 403, reasons: [NOT_GRANTED] },

  // PROJECT_VIEWER — a person's desktop tool
  { caller: 'jane smith (local)', method: 'GET', endpoint: 'cm/cmmast', status: 200, principal: JSMITH, reasons: [GRANTS, 'application:rows_filtered'], rows: and(eq('CmmCompCode', '01'), isIn('CmmJobCode', JSMITH_01)) },
  { caller: 'jane smith (local)', method: 'GET', endpoint: 'cm/cmmast/CO-3', resource: { CmmCompCode: '01', CmmJobCode: '23-415' }, status: 200, reasons: [GRANTS, 'application:job_in_group'] },
  { caller: 'jane smith (local)', method: 'PATCH', endpoint: 'cm/cmmast/CO-3', resource: { CmmCompCode: '01', CmmJobCode: '23-415' }, status: 403, reasons: [NOT_GRANTED] },
  { caller: 'jane smith (local)', method: 'GET', endpoint: 'pm/scmast/SC-1', resource: { company: '02', job: '23-801' }, status: 403, reasons: [GRANTS, 'application:company_not_accessible'] },
  { caller: 'jane smith (local)', method: 'HEAD', endpoint: 'jc/jcjob', status: 200, reasons: [GRANTS, 'application:rows_filtered'], rows: and(eq('JobCompCode', '01'), isIn('JobCode', JSMITH_01)) },

  // Authenticated, but no ERP account: authentication grants nothing
  { caller: 'unmapped app (entra)', method: 'GET', endpoint: 'jc/jcjob', status: 403, principal: { id: '0f0f0f0f-1111-2222-3333-444444444444', kind: 'unknown', idp: 'entra' }, reasons: ['api:account_unknown'], rows: 'none' },
  { caller: 'unknown erp user (local)', method: 'GET', endpoint: 'sys/currency', status: 403, reasons: ['api:account_unknown'] },
  // A trusted issuer naming an account that is bound to another provider (Basic only)
  { caller: 'payroll named by a token (local)', method: 'GET', endpoint: 'hcm/pyemployee', status: 403, principal: { id: 'ACME||SVC_PAYROLL', kind: 'service_account', idp: 'local' }, reasons: ['api:idp_not_allowed'] },

  // The authentication layer's denies never reach the policy
  { caller: 'none', method: 'GET', endpoint: 'jc/jcjob', status: 401, principal: null, reasons: ['authentication:credential_missing'], rows: 'none' },
  { caller: 'payroll, wrong secret (basic)', method: 'GET', endpoint: 'hcm/pyemptimesheet', status: 401, principal: null, reasons: ['authentication:basic_invalid_credentials'], rows: 'none' }
]
