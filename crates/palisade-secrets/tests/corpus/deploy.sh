export API_TOKEN=g0enLMq6igRs5QVBuIHEqk2x  #!pos
export DB_PASSWORD="xXGxf+5DRG-73M8"  #!pos
TOKEN=YXNkZmZmZmZm_HARDcoded02  #!pos
curl -H "Authorization: Bearer ghp_grUVGV9L3VxKefkOQML61rV372iw6sdF3LjK" https://api.github.com/user  #!pos
docker login -u deploy -p *q7x-A5kz%YJd registry.example.org  #!pos
mysql -u root -ppYG+2g2l344x app < dump.sql  #!pos
export AWS_ACCESS_KEY_ID=AKIAFS6MIGV2QTDLVMPS  #!pos
export AWS_SECRET_ACCESS_KEY=p347piHLVESJ4kya1Yy5+4rt7eNwKc6VKlzBnP6J  #!pos
export API_TOKEN="${API_TOKEN}"  #!neg
export DB_PASSWORD=$(vault kv get -field=password secret/db)  #!neg
read -s -p "Password: " PASSWORD  #!neg
if [ "$PASSWORD" == "" ]; then exit 1; fi  #!neg
TOKEN=$(cat /run/secrets/token)  #!neg
echo "token=$TOKEN" >> "$GITHUB_OUTPUT"  #!neg
export PASSWORD=changeme  #!flag
