$password = "YvS0+#9%93*t";  #!pos
$config['db_password'] = 'cqqrSb2lP*CP96GP';  #!pos
define('DB_PASSWORD', '%xEfv94i9nieA0');  #!pos
$apiKey = 'p577Fln2qwm9FcIfgq0qukw3jY';  #!pos
$client = new \Github\Client(); $client->authenticate('ghp_yeOTMKqmjJvB47f2Pqst3DdMP6mgv7wIZCVc', null, 'access_token_header');  #!pos
'secret' => 'CW3qPN0TzRT6x17XhDCKLE',  #!pos
$password = getenv('DB_PASSWORD');  #!neg
$password = $_POST['password'];  #!neg
if ($password === $confirm) {  #!neg
'password' => env('DB_PASSWORD'),  #!neg
function login($user, $password) {  #!neg
$token = bin2hex(random_bytes(32));  #!neg
define('AUTH_KEY', 'put your unique phrase here');  #!flag
