//! Stripe's API for what Cairn asks of it: customers, Checkout Sessions (prices made on first
//! use, promo codes as coupons), Customer Portal sessions, Connect Express accounts and their
//! onboarding links, and transfers for payouts. Each request that creates something carries an
//! idempotency key derived from Cairn's own record, so a retry never charges or pays twice.
//!
//! `STRIPE_API_BASE` points the client elsewhere (the test suite's fake Stripe server).

use app::domain::UserId;
use app::domain::billing::Interval;
use app::ports::{CheckoutRequest, GatewayError, HostedPage, PaymentGateway};
use async_trait::async_trait;
use std::collections::HashMap;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionDiscounts, CreateCheckoutSessionLineItems,
    CreateCheckoutSessionSubscriptionData,
};
use stripe_shared::{CheckoutSessionMode, CouponDuration};
use stripe_types::Currency;
use uuid::Uuid;

pub struct Stripe {
    client: Client,
    test_mode: bool,
}

impl Stripe {
    /// A client for the secret key; `base` overrides Stripe's API address. Fails on a base that
    /// is not a URL or a key that cannot be sent in a header.
    pub fn new(secret_key: &str, base: Option<&str>) -> Result<Self, String> {
        let mut builder = ClientBuilder::new(secret_key).timeout(std::time::Duration::from_secs(30));
        if let Some(base) = base {
            builder = builder.url(base);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        Ok(Stripe { client, test_mode: secret_key.starts_with("sk_test_") || secret_key.starts_with("rk_test_") })
    }
}

/// Sends `request` once with the idempotency key `key`.
async fn send<R: StripeRequest>(client: &Client, request: R, key: &str) -> Result<R::Output, GatewayError>
where
    R::Output: miniserde::Deserialize + Send + 'static,
{
    let key = IdempotencyKey::new(key).map_err(|e| GatewayError { message: e.to_string(), refused: true })?;
    request.customize().request_strategy(RequestStrategy::Idempotent(key)).send(client).await.map_err(refusal)
}

fn describe(e: stripe::StripeError) -> String {
    refusal(e).message
}

/// Whether Stripe answered with a refusal (nothing was done) and what it said.
fn refusal(e: stripe::StripeError) -> GatewayError {
    match e {
        stripe::StripeError::Stripe(api, status) => GatewayError {
            message: format!("Stripe refused ({status}): {}", api.message.unwrap_or_default()),
            refused: true,
        },
        other => GatewayError { message: format!("Stripe: {other}"), refused: false },
    }
}

fn currency(code: &str) -> Currency {
    code.parse().unwrap_or(Currency::USD)
}

fn interval(i: Interval) -> &'static str {
    match i {
        Interval::Month => "month",
        Interval::Year => "year",
    }
}

impl Stripe {
    /// The id of the price under `key`, made on first use.
    async fn price(&self, key: &str, r: &CheckoutRequest) -> Result<String, String> {
        use stripe_product::price::{CreatePrice, CreatePriceProductData, CreatePriceRecurring, ListPrice};
        let found = ListPrice::new()
            .lookup_keys(vec![key.to_owned()])
            .active(true)
            .send(&self.client)
            .await
            .map_err(describe)?;
        if let Some(price) = found.data.into_iter().next() {
            return Ok(price.id.to_string());
        }
        let mut create = CreatePrice::new(currency(&r.currency))
            .unit_amount(r.unit_amount)
            .lookup_key(key)
            .product_data(CreatePriceProductData::new(r.description.clone()));
        if let Some(i) = r.recurring {
            create = create.recurring(CreatePriceRecurring::new(
                interval(i)
                    .parse::<stripe_product::price::CreatePriceRecurringInterval>()
                    .map_err(|e| e.to_string())?,
            ));
        }
        let made =
            send(&self.client, create, &format!("price-{key}-{}", r.unit_amount)).await.map_err(|e| e.message)?;
        Ok(made.id.to_string())
    }

    /// A coupon for a promo code's amount off.
    async fn coupon(&self, r: &CheckoutRequest, off: i64, months: Option<u32>) -> Result<String, String> {
        use stripe_product::coupon::CreateCoupon;
        let mut create = CreateCoupon::new().amount_off(off).currency(currency(&r.currency)).name(
            r.metadata
                .iter()
                .find(|(k, _)| k == "cairn_promo")
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| "Promo".into()),
        );
        create = match months {
            None => create.duration(CouponDuration::Once),
            Some(0) => create.duration(CouponDuration::Forever),
            Some(n) => create.duration(CouponDuration::Repeating).duration_in_months(i64::from(n)),
        };
        let made = send(&self.client, create, &format!("coupon-{}", r.checkout_id)).await.map_err(|e| e.message)?;
        Ok(made.id.to_string())
    }
}

#[async_trait]
impl PaymentGateway for Stripe {
    fn test_mode(&self) -> bool {
        self.test_mode
    }

    async fn create_customer(&self, user: UserId, email: &str, name: &str) -> Result<String, String> {
        use stripe_core::customer::CreateCustomer;
        let create = CreateCustomer::new()
            .email(email)
            .name(name)
            .metadata(HashMap::from([("cairn_user".to_owned(), user.0.to_string())]));
        let made = send(&self.client, create, &format!("customer-{}", user.0)).await.map_err(|e| e.message)?;
        Ok(made.id.to_string())
    }

    async fn create_checkout(&self, r: &CheckoutRequest) -> Result<HostedPage, String> {
        let mut item = CreateCheckoutSessionLineItems::new();
        item.quantity = Some(u64::try_from(r.quantity).unwrap_or(1).max(1));
        match &r.price_key {
            Some(key) => item.price = Some(self.price(key, r).await?),
            None => {
                use stripe_checkout::checkout_session::{
                    CreateCheckoutSessionLineItemsPriceData, CreateCheckoutSessionLineItemsPriceDataRecurring,
                    ProductData,
                };
                let mut data = CreateCheckoutSessionLineItemsPriceData::new(currency(&r.currency));
                data.unit_amount = Some(r.unit_amount);
                data.product_data = Some(ProductData::new(r.description.clone()));
                if let Some(i) = r.recurring {
                    data.recurring = Some(CreateCheckoutSessionLineItemsPriceDataRecurring::new(
                        interval(i).parse::<stripe_checkout::checkout_session::CreateCheckoutSessionLineItemsPriceDataRecurringInterval>().map_err(|e| e.to_string())?,
                    ));
                }
                item.price_data = Some(data);
            }
        }
        let metadata: HashMap<String, String> = r.metadata.iter().cloned().collect();
        let mut create = CreateCheckoutSession::new()
            .mode(if r.recurring.is_some() { CheckoutSessionMode::Subscription } else { CheckoutSessionMode::Payment })
            .customer(r.customer.clone())
            .client_reference_id(r.checkout_id.to_string())
            .line_items(vec![item])
            .metadata(metadata.clone())
            .success_url(r.success_url.clone())
            .cancel_url(r.cancel_url.clone());
        if r.recurring.is_some() {
            let mut data = CreateCheckoutSessionSubscriptionData::new();
            data.metadata = Some(metadata);
            create = create.subscription_data(data);
        }
        if let Some((off, months)) = r.discount.filter(|(off, _)| *off > 0) {
            let mut discount = CreateCheckoutSessionDiscounts::new();
            discount.coupon = Some(self.coupon(r, off, months).await?);
            create = create.discounts(vec![discount]);
        }
        let session =
            send(&self.client, create, &format!("checkout-{}", r.checkout_id)).await.map_err(|e| e.message)?;
        let url = session.url.ok_or("Stripe: the checkout session has no URL")?;
        Ok(HostedPage { id: session.id.to_string(), url })
    }

    async fn portal(&self, customer: &str, return_url: &str) -> Result<String, String> {
        use stripe_billing::billing_portal_session::CreateBillingPortalSession;
        // A portal session creates nothing billable: no idempotency key needed.
        let session = CreateBillingPortalSession::new()
            .customer(customer)
            .return_url(return_url)
            .send(&self.client)
            .await
            .map_err(describe)?;
        Ok(session.url)
    }

    async fn create_connect_account(&self, user: UserId, email: &str) -> Result<String, String> {
        use stripe_connect::account::{CreateAccount, CreateAccountType};
        let create = CreateAccount::new()
            .type_(CreateAccountType::Express)
            .email(email)
            .metadata(HashMap::from([("cairn_user".to_owned(), user.0.to_string())]));
        let made = send(&self.client, create, &format!("connect-{}", user.0)).await.map_err(|e| e.message)?;
        Ok(made.id.to_string())
    }

    async fn onboarding_link(&self, account: &str, refresh_url: &str, return_url: &str) -> Result<String, String> {
        use stripe_connect::account_link::{CreateAccountLink, CreateAccountLinkType};
        let link = CreateAccountLink::new(account, CreateAccountLinkType::AccountOnboarding)
            .refresh_url(refresh_url)
            .return_url(return_url)
            .send(&self.client)
            .await
            .map_err(describe)?;
        Ok(link.url)
    }

    async fn transfer(
        &self,
        payout: Uuid,
        attempt: i32,
        account: &str,
        amount: i64,
        code: &str,
    ) -> Result<String, GatewayError> {
        use stripe_connect::transfer::CreateTransfer;
        let create = CreateTransfer::new(currency(code), account)
            .amount(amount)
            .transfer_group(format!("payout-{payout}"))
            .metadata(HashMap::from([("cairn_payout".to_owned(), payout.to_string())]));
        let key = if attempt == 0 { format!("payout-{payout}") } else { format!("payout-{payout}-{attempt}") };
        Ok(send(&self.client, create, &key).await?.id.to_string())
    }
}
