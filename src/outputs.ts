/** The step's outputs (action.yml lists them), from the report. */
import type { Report } from './report.js'

export function outputsOf(report: Report): Record<string, string> {
  const notPulling = report.pullReady ? [] : report.images.filter((i) => i.outcome !== 'passed')
  return {
    'pull-ready': String(report.pullReady),
    result: report.result,
    message: report.message,
    'sso-status': report.ssoStatus?.toString() ?? '',
    'registry-status': report.registryStatus?.toString() ?? '',
    'token-expires-in': report.tokenExpiresIn?.toString() ?? '',
    'failed-images': notPulling.map((i) => i.image).join('\n'),
    hosts: report.hosts.join('\n'),
    report: JSON.stringify(report),
  }
}
