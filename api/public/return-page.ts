// Where a payment provider sends the payer's browser back (MobilePay's returnUrl, an approve link's
// return): a page on the public door that says where the payment stands. It shows the status only —
// no amount, no reference, no payer — since anyone holding the link can open it.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PaymentNotFoundError, type PaymentsClient } from '../../client/payments';
import type { PaymentStatus } from '../../domain/payments';

const MESSAGES: Record<PaymentStatus, string> = {
  created: 'We are waiting for your payment.',
  requires_action: 'Your payment needs one more step in your payment app.',
  processing: 'Your payment is being processed. You can close this page.',
  requires_capture: 'Your payment is authorized. Thank you!',
  succeeded: 'Your payment went through. Thank you!',
  failed: 'Your payment did not go through. No money was taken.',
  canceled: 'Your payment was cancelled.',
  expired: 'This payment has expired.',
  partially_refunded: 'Your payment went through; part of it has been refunded.',
  refunded: 'Your payment has been refunded.',
};

const page = (title: string, message: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title></head>` +
  `<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem"><h1>${title}</h1><p>${message}</p></body></html>`;

export async function returnPageRoutes(app: FastifyInstance, deps: { payments: Pick<PaymentsClient, 'getPayment'>; rateLimit?: { max: number } }): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/payments/:id/return',
    {
      config: deps.rateLimit ? { rateLimit: { max: deps.rateLimit.max, timeWindow: 60_000 } } : {},
      schema: { params: z.object({ id: z.string().regex(/^pay_[a-z0-9]{6,40}$/) }) },
    },
    async (request, reply) => {
      reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
      try {
        const payment = await deps.payments.getPayment(request.params.id);
        return page('Payment', MESSAGES[payment.status]);
      } catch (err) {
        if (err instanceof PaymentNotFoundError) return reply.code(404).send(page('Payment', 'We do not know this payment.'));
        throw err;
      }
    },
  );
}
