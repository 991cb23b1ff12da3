/** Credential fields read by the trigger (Twilio WhatsApp credential, Provider = Twilio). */
export interface TwilioCredentials {
	accountSid?: string;
	authToken?: string;
	indexKey?: string;
}
