/** Credential fields read by the trigger (Twilio WhatsApp credential, Provider = Twilio). */
export interface TwilioCredentials {
	accountSid?: string;
	authToken?: string;
	indexKey?: string;
	/** Twilio REST API base URL (media URLs on its host get the Basic auth). */
	apiBaseUrl?: string;
}
