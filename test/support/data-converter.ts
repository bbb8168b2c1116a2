// The payload codec under the development key, the key a stack started without TOKEN_ENCRYPTION_KEY
// uses: test workers and clients encrypt their payloads as production does, and read each other's.
import { CHANNEL_SANDBOX_DEFAULTS } from '../../config';
import { encryptedDataConverter } from '../../security/payload-codec';

export const testDataConverter = encryptedDataConverter(CHANNEL_SANDBOX_DEFAULTS.tokenEncryptionKey);
