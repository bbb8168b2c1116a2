// Pieces every page shares: errors as sentences, empty states that say what to do, a confirmed action.
import { createContext, useContext, useState, type ReactNode } from 'react';

export interface Principal {
  name: string;
  scopes: string[];
}

export const PrincipalContext = createContext<Principal>({ name: '', scopes: [] });
export const useCan = () => {
  const principal = useContext(PrincipalContext);
  return (scope: string) => principal.scopes.includes(scope);
};

export function ErrorNote({ error }: { error?: string }) {
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {error}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** A button that asks before it acts, then reports the outcome as a sentence. */
export function ConfirmAction(props: { label: string; question: string; run: () => Promise<unknown>; done: string; children?: ReactNode }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();
  const act = async () => {
    setBusy(true);
    try {
      await props.run();
      setOutcome({ ok: true, text: props.done });
      setAsking(false);
    } catch (err) {
      setOutcome({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="action">
      {!asking && (
        <button type="button" onClick={() => { setAsking(true); setOutcome(undefined); }}>
          {props.label}
        </button>
      )}
      {asking && (
        <div role="dialog" aria-label={props.label} className="confirm">
          <p>{props.question}</p>
          {props.children}
          <button type="button" className="primary" disabled={busy} onClick={() => void act()}>
            Confirm {props.label.toLowerCase()}
          </button>
          <button type="button" onClick={() => setAsking(false)}>
            Keep as is
          </button>
        </div>
      )}
      {outcome && (
        <p role={outcome.ok ? 'status' : 'alert'} className={outcome.ok ? 'ok' : 'error'}>
          {outcome.text}
        </p>
      )}
    </div>
  );
}

export function Badge({ value }: { value: string }) {
  return <span className={`badge badge-${value.replace(/[^a-z_]/g, '')}`}>{value.replaceAll('_', ' ')}</span>;
}
