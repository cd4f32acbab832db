// Prints the README's settings table from the one config schema:
//   node scripts/settings-table.ts
import { environmentName, flagName, settingKeys } from '../src/config/load.ts'
import { settings } from '../src/config/settings.ts'

const lines = ['| setting | flag | environment | default | meaning |', '|---|---|---|---|---|']
for (const key of settingKeys) {
  const definition = settings[key] as { description: string; default: unknown; commands?: readonly string[] }
  const scope = definition.commands ? ` (${definition.commands.join(', ')})` : ''
  const fallback = definition.default === undefined ? '(source default)' : JSON.stringify(definition.default)
  lines.push(
    `| \`${key}\` | \`--${flagName(key)}\`${scope} | \`${environmentName(key)}\` | \`${fallback}\` | ${definition.description} |`,
  )
}
process.stdout.write(`${lines.join('\n')}\n`)
