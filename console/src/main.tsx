import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { api, must, session } from './api';
import { PrincipalContext, type Principal } from './ui';
import { Overview } from './pages/Overview';
import { Payments } from './pages/Payments';
import { PaymentDetail } from './pages/PaymentDetail';
import { Calendar } from './pages/Calendar';
import { Channels } from './pages/Channels';
import { Webhooks } from './pages/Webhooks';
import { Reconciliation } from './pages/Reconciliation';
import { Providers } from './pages/Providers';
import './styles.css';

const PAGES = [
  ['overview', 'Overview'],
  ['payments', 'Payments'],
  ['calendar', 'Calendar'],
  ['channels', 'Channels'],
  ['webhooks', 'Webhooks'],
  ['reconciliation', 'Reconciliation'],
  ['providers', 'Providers'],
] as const;

function useHash() {
  const [hash, setHash] = useState(window.location.hash.slice(1) || '/overview');
  useEffect(() => {
    const changed = () => setHash(window.location.hash.slice(1) || '/overview');
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return hash;
}

function SignIn({ onSignedIn, error }: { onSignedIn: (key: string) => void; error?: string }) {
  const [key, setKey] = useState('');
  return (
    <main className="signin">
      <h1>Skerry console</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          onSignedIn(key.trim());
        }}
      >
        <label htmlFor="api-key">API key</label>
        <input id="api-key" type="password" autoComplete="off" value={key} onChange={(event) => setKey(event.target.value)} placeholder="sk_…" required />
        <p className="hint">The key stays in this browser tab only (session storage). A read-only key shows no action buttons.</p>
        <button type="submit" className="primary">
          Sign in
        </button>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

function Page({ path }: { path: string }) {
  const [, page, id] = path.split('/');
  if (page === 'payments' && id) return <PaymentDetail id={decodeURIComponent(id)} />;
  switch (page) {
    case 'payments':
      return <Payments />;
    case 'calendar':
      return <Calendar />;
    case 'channels':
      return <Channels />;
    case 'webhooks':
      return <Webhooks />;
    case 'reconciliation':
      return <Reconciliation />;
    case 'providers':
      return <Providers />;
    default:
      return <Overview />;
  }
}

function App() {
  const path = useHash();
  const [principal, setPrincipal] = useState<Principal>();
  const [error, setError] = useState<string>();
  const [checking, setChecking] = useState(Boolean(session.key()));

  const identify = async () => {
    try {
      const self = must(await api.GET('/api-keys/self'));
      setPrincipal({ name: self.name, scopes: self.scopes });
      setError(undefined);
    } catch (err) {
      session.signOut();
      setPrincipal(undefined);
      setError((err as Error).message);
    } finally {
      setChecking(false);
    }
  };
  useEffect(() => {
    if (session.key()) void identify();
  }, []);

  if (checking) return <p className="empty">Checking the API key…</p>;
  if (!principal) {
    return (
      <SignIn
        error={error}
        onSignedIn={(key) => {
          session.signIn(key);
          void identify();
        }}
      />
    );
  }
  const current = path.split('/')[1];
  return (
    <PrincipalContext.Provider value={principal}>
      <a className="skip" href="#content">
        Skip to content
      </a>
      <header>
        <span className="brand">Skerry</span>
        <nav aria-label="Console">
          <ul>
            {PAGES.map(([slug, label]) => (
              <li key={slug}>
                <a href={`#/${slug}`} aria-current={current === slug ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who">
          {principal.name} · {principal.scopes.join(', ')}
          <button
            type="button"
            onClick={() => {
              session.signOut();
              setPrincipal(undefined);
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <main id="content" tabIndex={-1}>
        <Page path={path} />
      </main>
    </PrincipalContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
