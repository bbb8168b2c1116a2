// A webhook that passed verification, normalized for the inbox: the shape the verifiers produce and
// the inbox stores, whichever provider or channel sent it.
import type { ProviderName, PaymentObservation, CaptureMethod } from './payments';
import type { Money } from './money';
import type { ChannelName, ChannelReservationEvent } from './bookings';

/** Who sends webhooks: the payment providers, and the booking channels that push (Airbnb). */
export type WebhookSource = ProviderName | ChannelName;

/** A webhook event that passed verification, normalized for the inbox. */
export interface VerifiedWebhookEvent {
  provider: WebhookSource;
  eventId: string;
  eventType: string;
  /** Skerry's payment id when the event carries it (metadata, custom_id, payee reference). */
  paymentId?: string;
  providerReference?: string;
  /**
   * `observation`: the event is authenticated and applied as is.
   * `hint`: the event is unauthenticated (Swish callbacks): the workflow asks the provider instead.
   * `none`: stored and acknowledged, nothing to deliver (unknown or irrelevant event types).
   * `reservation`: a booking channel's reservation message, delivered to its reservation workflow.
   * `pull`: a booking channel's hint that its feed has news (Channex): its reservation poll pulls now.
   */
  delivery: 'observation' | 'hint' | 'none' | 'reservation' | 'pull';
  observation?: PaymentObservation;
  reservation?: ChannelReservationEvent;
  /** What signal-with-start needs to adopt a payment whose workflow does not exist yet. */
  adopt?: { amount: Money; reference: string; captureMethod: CaptureMethod };
  payload: unknown;
}
