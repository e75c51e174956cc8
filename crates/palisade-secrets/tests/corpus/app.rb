API_KEY = "4wFd3nnsID7wipw1y7w1fVL8U"  #!pos
config.password = 'aUiASFCK+%62'  #!pos
ENV["SECRET_TOKEN"] = "O230FCcAPP7DxBHxNWnvTKUPslSZr8"  #!pos
Stripe.api_key = "sk_live_uUhe8VT6GoS8iaP9wdGFDHz9bRz74ceN"  #!pos
client = Octokit::Client.new(access_token: "ghp_sLMjUCXveBJYeTyTXjwyq2ia9nVbyTeGarrD")  #!pos
redis = Redis.new(url: "redis://:!CSy#3PP0SMEp@cache.prod:6379/0")  #!pos
password = ENV.fetch("DB_PASSWORD")  #!neg
api_key = Rails.application.credentials.api_key  #!neg
if params[:password] == params[:password_confirmation]  #!neg
def authenticate(password)  #!neg
token = SecureRandom.hex(32)  #!neg
validates :password, presence: true, length: { minimum: 8 }  #!neg
password: "password"  #!flag
