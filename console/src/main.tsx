// The console's pages, routed by the URL hash: overview, topics (and a topic's messages),
// consumer groups, live anomalies, alerts, drift and models, windows.
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { AlertsPage } from './alerts.tsx'
import { AnomaliesPage } from './anomalies.tsx'
import { api, parseRoute, savedToken, saveToken } from './api.ts'
import { GroupsPage } from './groups.tsx'
import { ModelsPage } from './models.tsx'
import { OverviewPage } from './overview.tsx'
import { TopicPage, TopicsPage } from './topics.tsx'
import { WindowsPage } from './windows.tsx'
import './style.css'

function useHash(): string {
  const [hash, setHash] = useState(location.hash)
  useEffect(() => {
    const update = () => setHash(location.hash)
    window.addEventListener('hashchange', update)
    return () => window.removeEventListener('hashchange', update)
  }, [])
  return hash
}

function TokenBox() {
  const [token, setToken] = useState(savedToken())
  const [state, setState] = useState<'none' | 'ok' | 'bad'>(savedToken() ? 'ok' : 'none')
  const apply = async (event: Event) => {
    event.preventDefault()
    saveToken(token.trim())
    if (!token.trim()) return setState('none')
    try {
      await api('/api/auth', { method: 'POST' })
      setState('ok')
    } catch {
      setState('bad')
    }
  }
  return (
    <form class="token" onSubmit={apply}>
      <input
        type="password"
        placeholder="token (read-only without)"
        value={token}
        aria-label="console token"
        onInput={(e) => setToken((e.target as HTMLInputElement).value)}
      />
      <button type="submit">Use token</button>
      <span class={`token-state ${state}`} data-testid="token-state">
        {state === 'ok' ? 'write access' : state === 'bad' ? 'wrong token' : 'read-only'}
      </span>
    </form>
  )
}

function App() {
  const hash = useHash()
  const { parts, params } = parseRoute(hash)
  const [section = 'overview', name] = parts
  let page = <OverviewPage />
  if (section === 'topics' && name) page = <TopicPage key={name} topic={name} params={params} />
  else if (section === 'topics') page = <TopicsPage />
  else if (section === 'groups') page = <GroupsPage />
  else if (section === 'anomalies') page = <AnomaliesPage selected={params.get('selected')} />
  else if (section === 'alerts') page = <AlertsPage selected={params.get('selected')} />
  else if (section === 'models') page = <ModelsPage />
  else if (section === 'windows') page = <WindowsPage />
  const link = (to: string, label: string) => (
    <a href={`#/${to}`} class={section === (to || 'overview') ? 'active' : ''}>
      {label}
    </a>
  )
  return (
    <>
      <header>
        <span class="brand">Lookout</span>
        <nav>
          {link('', 'Overview')}
          {link('topics', 'Topics')}
          {link('groups', 'Consumer groups')}
          {link('anomalies', 'Live anomalies')}
          {link('alerts', 'Alerts')}
          {link('models', 'Drift and models')}
          {link('windows', 'Windows')}
        </nav>
        <TokenBox />
      </header>
      <main>{page}</main>
    </>
  )
}

render(<App />, document.getElementById('app')!)
