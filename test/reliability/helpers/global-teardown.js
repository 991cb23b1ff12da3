module.exports = async () => require('./global').teardown();
