-- A copy of production for testing (odoo-bin neutralize, a backup restored or a database
-- duplicated with "neutralize") reaches no SMS provider and spends no credits: every account
-- stops sending. An administrator may switch a sandbox account back on in the copy.
UPDATE cgsms_account
   SET neutralized = true;
